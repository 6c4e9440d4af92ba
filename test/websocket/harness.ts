// Test harness: a `ws` echo upstream, a node:http proxy listener whose 'upgrade' goes to the
// relay, and stub deps (a fake inspector that flags one literal word) so the relay is tested
// without the policy engine.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Hit, StreamInspector } from '../../src/policy/types.js';
import type { Direction } from '../../src/events.js';
import { handleUpgrade } from '../../src/proxy/websocket/relay.js';
import { WsRegistry } from '../../src/proxy/websocket/registry.js';
import type { RelayBounds, RelayDeps } from '../../src/proxy/websocket/types.js';

export class WordInspector implements StreamInspector {
  tokens = 0;
  toolCalls = 0;
  private tail = '';
  constructor(private readonly word: string, private readonly direction: Direction) {}
  write(chunk: Buffer): Hit[] | null {
    const text = this.tail + chunk.toString('utf8');
    this.tail = text.slice(-(this.word.length - 1));
    if (!text.includes(this.word)) return null;
    return [{ rule: 'no-' + this.word, severity: 'high', action: 'block', direction: this.direction, excerpt: this.word }];
  }
  end(): Hit[] | null {
    return null;
  }
  bytes(): number {
    return this.tail.length;
  }
}

export interface Harness {
  url: string;
  port: number;
  upstream: WebSocketServer;
  upstreamPort: number;
  /** messages the upstream received, as strings */
  received: string[];
  registry: WsRegistry;
  deps: RelayDeps;
  slots: Map<string, number>;
  hits: Hit[];
  opened: Direction[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  bounds?: Partial<RelayBounds>;
  /** upstream behaviour: default echo */
  onUpstream?: (ws: WebSocket) => void;
  word?: string;
  hitAction?: 'pass' | 'close';
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const received: string[] = [];
  const upstream = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, handleProtocols: (ps) => (ps.has('chat') ? 'chat' : false) });
  await new Promise<void>((r) => upstream.once('listening', () => r()));
  upstream.on('connection', (ws, req) => {
    (ws as unknown as { req: unknown }).req = req;
    if (opts.onUpstream) return opts.onUpstream(ws);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) received.push(data.toString());
      ws.send(data, { binary: isBinary });
    });
  });
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const slots = new Map<string, number>();
  const hits: Hit[] = [];
  const opened: Direction[] = [];
  const bounds: RelayBounds = {
    highWater: 64 * 1024, maxFrame: 1024 * 1024, idleTimeoutMs: 600_000, connectTimeoutMs: 2_000,
    permessageDeflate: false, tlsVerify: true, ...opts.bounds,
  };
  const registry = new WsRegistry({ idleTimeoutMs: bounds.idleTimeoutMs, sweepIntervalMs: Math.min(200, bounds.idleTimeoutMs) });
  const word = opts.word ?? 'forbidden';
  const deps: RelayDeps = {
    resolveSession(req) {
      const id = String(req.headers['x-session-id'] ?? 'anon');
      if (id === 'killed') return { status: 403, type: 'session_killed', code: 'session_killed', message: 'session killed' };
      if (id === 'async') return Promise.resolve({ slot: 99, id });
      let slot = slots.get(id);
      if (slot === undefined) slots.set(id, (slot = slots.size));
      return { slot, id };
    },
    pickUpstream: () => new URL(`ws://127.0.0.1:${upstreamPort}/base`),
    openInspector(_slot, dir) {
      opened.push(dir);
      return new WordInspector(word, dir);
    },
    onHit(_slot, hit) {
      hits.push(hit);
      return opts.hitAction ?? 'close';
    },
    registry,
    bounds,
  };
  const server: Server = createServer((_req, res) => res.end('plain http'));
  server.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, deps));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`, port, upstream, upstreamPort, received, registry, deps, slots, hits, opened,
    async close() {
      registry.closeAll();
      registry.stop();
      for (const c of upstream.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => upstream.close(() => r()));
    },
  };
}

/** A raw TCP WebSocket client, for sending what `ws` would refuse to. */
export class RawClient {
  sock!: Socket;
  head = '';
  data = Buffer.alloc(0);
  closed = false;

  static async open(port: number, extraHeaders = ''): Promise<RawClient> {
    const c = new RawClient();
    c.sock = connect(port, '127.0.0.1');
    c.sock.on('close', () => (c.closed = true));
    c.sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      c.sock.on('connect', () => {
        c.sock.write(`GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`);
      });
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        c.head = buf.toString('latin1', 0, i);
        c.data = buf.subarray(i + 4);
        c.sock.off('data', onData);
        c.sock.on('data', (x: Buffer) => (c.data = Buffer.concat([c.data, x])));
        resolve();
      };
      c.sock.on('data', onData);
      c.sock.on('close', () => reject(new Error('closed during handshake: ' + buf.toString())));
    });
    return c;
  }

  /** First close frame received: [code, reason], or null. */
  closeFrame(): [number, string] | null {
    const d = this.data;
    let i = 0;
    while (i + 2 <= d.length) {
      const op = d[i] & 0x0f;
      let len = d[i + 1] & 0x7f;
      let h = 2;
      if (len === 126) { len = d.readUInt16BE(i + 2); h = 4; }
      else if (len === 127) { len = Number(d.readBigUInt64BE(i + 2)); h = 10; }
      if (i + h + len > d.length) return null;
      if (op === 8) return [d.readUInt16BE(i + h), d.toString('utf8', i + h + 2, i + h + len)];
      i += h + len;
    }
    return null;
  }
}

export function until(cond: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (cond()) { clearInterval(t); resolve(); }
      else if (Date.now() - start > ms) { clearInterval(t); reject(new Error('timed out waiting')); }
    }, 5);
  });
}
