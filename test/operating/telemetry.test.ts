// Traces over OTLP/HTTP (SPEC.md "Operating it"), against the built binary, scripted upstreams
// and a receiver started here.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, startMockLlm, type Proc } from '../helpers/procs.js';
import { answerChat, answerStatus, fakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

const procs: Proc[] = [];
const closers: Array<FakeUpstream | OtlpReceiver> = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
  await Promise.all(closers.splice(0).map((u) => u.close()));
});

function configFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-otel-'));
  writeFileSync(join(dir, 'c.yaml'), yaml);
  return join(dir, 'c.yaml');
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

async function post(proxy: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${proxy}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('telemetry', () => {
  it('one span per request with the GenAI attributes, continuing and propagating traceparent', async () => {
    const rx = await startOtlpReceiver();
    const up = await fakeUpstream((s, res) => answerChat(s, res, 'up'));
    closers.push(rx, up);
    const gw = await startGateway(['--config', configFile(
      `upstreams:\n  - url: ${up.url}\ntelemetry:\n  otlp_endpoint: ${rx.url}\n  service_name: cordon-test\npolicy:\n  preset: standard\n  rules:\n    - name: no-secret-word\n      target: request\n      literals: [xyzzy-secret]\n      action: block\n`)]);
    procs.push(gw);
    const r = await post(gw.proxy, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      { 'x-session-id': 'trace-me', traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` });
    expect(r.status).toBe(200);
    await r.text();
    const blocked = await post(gw.proxy, { model: 'gpt-4o', messages: [{ role: 'user', content: 'say xyzzy-secret' }] }, { 'x-session-id': 'trace-me' });
    expect(blocked.status).toBe(403);
    const [ok, refused] = await rx.waitFor(2);
    expect(rx.posts[0]).toBe('POST /v1/traces application/json');
    expect(ok.resource['service.name']).toBe('cordon-test');
    expect(ok.traceId).toBe(PARENT_TRACE);
    expect(ok.parentSpanId).toBe(PARENT_SPAN);
    expect(ok.name).toBe('chat gpt-4o');
    expect(ok.attributes).toMatchObject({
      'gen_ai.system': 'openai', 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 3,
      'session.id': 'trace-me', 'cordon.policy.outcome': 'allow', 'http.response.status_code': 200,
    });
    // the upstream got our span as its parent, in the caller's trace
    expect(up.seen[0].headers.traceparent).toBe(`00-${PARENT_TRACE}-${ok.spanId}-01`);
    expect(refused.traceId).not.toBe(PARENT_TRACE); // no traceparent: a new trace
    expect(refused.parentSpanId).toBeUndefined();
    expect(refused.attributes).toMatchObject({ 'cordon.policy.outcome': 'block', 'cordon.policy.rule': 'no-secret-word', 'http.response.status_code': 403 });
  });

  it('records retries and a kill as events; sample 0 records only what a sampled parent asks for', async () => {
    const rx = await startOtlpReceiver();
    const a = await fakeUpstream((_s, res) => answerStatus(res, 429));
    const b = await fakeUpstream((s, res) => {
      if (s.body.includes('"stream":true')) { res.writeHead(200, { 'content-type': 'text/event-stream' }); res.write('data: {}\n\n'); return; }
      answerChat(s, res, 'b');
    });
    closers.push(rx, a, b);
    const gw = await startGateway(['--config', configFile(
      `upstreams:\n  - url: ${a.url}\n  - url: ${b.url}\nretry:\n  on: [429]\ntelemetry:\n  otlp_endpoint: ${rx.url}/v1/traces\n  sample: 0\npolicy:\n  preset: off\n`)]);
    procs.push(gw);
    const sampled = `00-${PARENT_TRACE}-${PARENT_SPAN}-01`;
    for (let i = 0; i < 3; i++) await (await post(gw.proxy, { model: 'm', messages: [] })).text(); // not sampled
    await (await post(gw.proxy, { model: 'm', messages: [] }, { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-00` })).text();
    // sampled parent: recorded; round robin means one of two requests starts on A and is retried
    for (let i = 0; i < 2; i++) await (await post(gw.proxy, { model: 'm', messages: [] }, { traceparent: sampled })).text();
    const stream = await post(gw.proxy, { model: 'm', stream: true, messages: [] }, { traceparent: sampled, 'x-session-id': 'to-kill' });
    const reader = stream.body!.getReader();
    await reader.read();
    expect((await fetch(`${gw.control}/control/sessions/to-kill/kill`, { method: 'POST' })).status).toBe(200);
    while (!(await reader.read()).done) { /* until the kill ends it */ }
    const spans = await rx.waitFor(3);
    await new Promise((r) => setTimeout(r, 1500));
    expect(rx.spans).toHaveLength(3);
    const retried = spans.filter((s) => s.events.some((e) => e.name === 'cordon.retry'));
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(retried[0].events.find((e) => e.name === 'cordon.retry')!.attributes['cordon.retry.reason']).toBe('429');
    expect(retried[0].attributes['cordon.attempts']).toBe(2);
    const killed = spans.find((s) => s.attributes['session.id'] === 'to-kill')!;
    expect(killed.events.map((e) => e.name)).toContain('cordon.session.killed');
  });

  it('an unreachable collector never fails a request; what cannot be sent is counted', async () => {
    const up = await fakeUpstream((s, res) => answerChat(s, res, 'up'));
    closers.push(up);
    const port = await freePort();
    const gw = await startGateway(['--config', configFile(
      `upstreams:\n  - url: ${up.url}\ntelemetry:\n  otlp_endpoint: http://127.0.0.1:${port}\n  queue_max: 16\n  batch_size: 8\n  export_timeout: 500ms\npolicy:\n  preset: off\n`)]);
    procs.push(gw);
    const results = await Promise.all(Array.from({ length: 60 }, () => post(gw.proxy, { model: 'm', messages: [] }).then(async (r) => { await r.text(); return r.status; })));
    expect(results.every((s) => s === 200)).toBe(true);
    const mem = await (await fetch(`${gw.control}/control/memory`)).json() as { components: Record<string, { bytes: number; count?: number }> };
    expect(mem.components.telemetry).toBeDefined();
    expect(mem.components.telemetry.count).toBeLessThanOrEqual(16);
    // every span is accounted for: refused by the absent collector (failed) or dropped at the queue
    const count = (text: string, state: string) => Number(new RegExp(`cordon_telemetry_spans\\{state="${state}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
    const end = Date.now() + 8000;
    let text = '';
    do {
      await new Promise((r) => setTimeout(r, 200));
      text = await (await fetch(`${gw.control}/metrics`)).text();
    } while (count(text, 'failed') + count(text, 'dropped') < 60 && Date.now() < end);
    expect(count(text, 'failed') + count(text, 'dropped')).toBe(60);
    expect(count(text, 'exported')).toBe(0);
    expect(count(text, 'queued')).toBe(0);
  });

  it('a slow collector: the queue stays bounded, the excess is dropped and counted, requests are not delayed', async () => {
    const rx = await startOtlpReceiver();
    rx.delayMs = 3000;
    const up = await fakeUpstream((s, res) => answerChat(s, res, 'up'));
    closers.push(rx, up);
    const gw = await startGateway(['--config', configFile(
      `upstreams:\n  - url: ${up.url}\ntelemetry:\n  otlp_endpoint: ${rx.url}\n  queue_max: 16\n  batch_size: 8\n  export_timeout: 5s\npolicy:\n  preset: off\n`)]);
    procs.push(gw);
    const t0 = performance.now();
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all(Array.from({ length: 10 }, () => post(gw.proxy, { model: 'm', messages: [] }).then(async (r) => { await r.text(); return r.status; })));
      expect(results.every((st) => st === 200)).toBe(true);
    }
    expect(performance.now() - t0).toBeLessThan(2500); // 60 requests, none waiting on the 3s exports
    const mem = await (await fetch(`${gw.control}/control/memory`)).json() as { components: Record<string, { bytes: number; count?: number }> };
    expect(mem.components.telemetry.count).toBeLessThanOrEqual(16);
    expect(mem.components.telemetry.bytes).toBeGreaterThan(0);
    const text = await (await fetch(`${gw.control}/metrics`)).text();
    expect(Number(/cordon_telemetry_spans\{state="dropped"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(60 - 16);
  });

  it('one span per WebSocket connection, in the caller\'s trace, ended at the close', async () => {
    const rx = await startOtlpReceiver();
    closers.push(rx);
    const mock = await startMockLlm(); procs.push(mock);
    const gw = await startGateway(['--config', configFile(`upstreams:\n  - url: ${mock.url}\ntelemetry:\n  otlp_endpoint: ${rx.url}\npolicy:\n  preset: off\n`)]);
    procs.push(gw);
    const ws = new WebSocket(`${gw.proxy.replace('http', 'ws')}/v1/realtime`, { headers: { 'x-session-id': 'ws-trace', traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` } });
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const echoed = new Promise((r) => ws.once('message', r));
    ws.send('hello there');
    await echoed;
    ws.close(1000);
    const [span] = await rx.waitFor(1);
    expect(span.name).toBe('websocket');
    expect(span.traceId).toBe(PARENT_TRACE);
    expect(span.parentSpanId).toBe(PARENT_SPAN);
    expect(span.attributes).toMatchObject({ 'session.id': 'ws-trace', 'network.protocol.name': 'websocket', 'http.response.status_code': 101 });
    expect(Number(span.attributes['cordon.bytes_in'])).toBeGreaterThan(0);
  });
});
