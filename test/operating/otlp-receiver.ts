// An OTLP/HTTP receiver for tests: takes what the exporter posts to /v1/traces (OTLP JSON, the
// encoding @opentelemetry/exporter-trace-otlp-http sends) and flattens it into spans.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
interface KeyValue { key: string; value: AnyValue }

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
  events: Array<{ name: string; attributes: Record<string, string | number | boolean> }>;
  resource: Record<string, string | number | boolean>;
  status?: { code?: number };
}

function flat(kvs: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value;
    out[kv.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? '';
  }
  return out;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** export requests seen, and their content types */
  posts: string[];
  server: Server;
  /** while set, exports are held this long before their answer (a slow collector) */
  delayMs: number;
  close(): Promise<void>;
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const posts: string[] = [];
  const rx: OtlpReceiver = {
    url: '', spans, posts, delayMs: 0, server: null as unknown as Server,
    close: () => new Promise<void>((r) => { rx.server.closeAllConnections(); rx.server.close(() => r()); }),
    async waitFor(n, timeoutMs = 8_000) {
      const end = Date.now() + timeoutMs;
      while (spans.length < n) {
        if (Date.now() > end) throw new Error(`${spans.length} spans received, wanted ${n}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return spans;
    },
  };
  rx.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const answer = () => {
        if (req.url !== '/v1/traces') { res.writeHead(404).end(); return; }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{ resource: { attributes: KeyValue[] }; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
        };
        for (const rs of body.resourceSpans) {
          const resource = flat(rs.resource.attributes);
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) {
              spans.push({
                traceId: s.traceId as string, spanId: s.spanId as string, parentSpanId: (s.parentSpanId as string) || undefined,
                name: s.name as string, attributes: flat(s.attributes as KeyValue[]), resource,
                events: ((s.events as Array<{ name: string; attributes: KeyValue[] }>) ?? []).map((e) => ({ name: e.name, attributes: flat(e.attributes) })),
                status: s.status as { code?: number },
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      };
      if (rx.delayMs > 0) setTimeout(answer, rx.delayMs); else answer();
    });
  });
  await new Promise<void>((r) => rx.server.listen(0, '127.0.0.1', r));
  rx.url = `http://127.0.0.1:${(rx.server.address() as AddressInfo).port}`;
  return rx;
}
