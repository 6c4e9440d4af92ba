// End to end: the contract drift closed in issue #20, each against the built binary and a
// scripted upstream: a missing Host gets JSON 400 on both listeners; an upstream WebSocket that
// closes abruptly gives the client 1014; at the drain timeout an SSE stream gets `event: error`
// (overloaded, "shutting down") before the close; a TEXT/EVENT-STREAM answer is a stream too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { raw, statusOf } from '../helpers/raw-http.js';
import { startGateway, type GatewayProc } from '../helpers/procs.js';

/** An upstream whose behaviour the path picks. */
function scriptedUpstream(): http.Server {
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/slow-sse' || req.url === '/upper-sse') {
      res.writeHead(200, { 'content-type': req.url === '/upper-sse' ? 'TEXT/EVENT-STREAM' : 'text/event-stream' });
      let n = 0;
      const t = setInterval(() => {
        if (res.destroyed) { clearInterval(t); return; }
        res.write(`data: {"choices":[{"index":0,"delta":{"content":"tick ${n++}"}}]}\n\n`);
      }, 50);
      res.on('close', () => clearInterval(t));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  server.on('upgrade', (req, socket: Duplex) => {
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // a text frame "hi"
    setTimeout(() => (req.url === '/ws-reset' ? socket.destroy() : socket.end()), 100);
  });
  return server;
}

describe('contract drift closed', () => {
  let up: http.Server;
  let gw: GatewayProc;

  beforeAll(async () => {
    up = scriptedUpstream();
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    gw = await startGateway(['--upstream', `http://127.0.0.1:${(up.address() as AddressInfo).port}`, '--policy', 'off', '--drain-timeout', '300ms']);
  }, 30_000);

  afterAll(async () => {
    await gw?.stop('SIGKILL');
    up?.closeAllConnections();
    await new Promise((r) => up?.close(r));
  });

  it('an HTTP/1.1 request without Host gets 400 missing_host in the SPEC shape, on both listeners', async () => {
    for (const base of [gw.proxy, gw.control]) {
      const resp = await raw(base, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
      expect(statusOf(resp), base).toBe(400);
      const body = JSON.parse(resp.slice(resp.indexOf('\r\n\r\n') + 4)) as unknown;
      expect(body).toMatchObject({ error: { type: 'invalid_request', code: 'missing_host' } });
    }
    // HTTP/1.0 may leave Host out
    const old = await raw(gw.proxy, 'GET /x HTTP/1.0\r\n\r\n');
    expect(old).toMatch(/^HTTP\/1\.1 200/);
  });

  it.each([['FIN', '/ws-end'], ['reset', '/ws-reset']])('an upstream WebSocket that goes away without a close frame (%s) closes the client with 1014', async (_how, path) => {
    const ws = new WebSocket(`${gw.proxy.replace('http', 'ws')}${path}`, { headers: { 'x-session-id': `ws-abrupt-${_how}` } });
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    const code = await new Promise<number>((resolve, reject) => { ws.once('close', resolve); ws.once('error', reject); });
    expect(got).toEqual(['hi']);
    expect(code).toBe(1014);
  });

  it('a TEXT/EVENT-STREAM answer is streamed as SSE: a kill ends it with event: error', async () => {
    const res = await fetch(`${gw.proxy}/upper-sse`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': 'upper-sse' }, body: '{}' });
    const reader = res.body!.getReader();
    await reader.read();
    await fetch(`${gw.control}/control/sessions/upper-sse/kill`, { method: 'POST' }).then((r) => r.arrayBuffer());
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    expect(text).toMatch(/event: error\ndata: \{"error":\{[^\n]*"type":"session_killed"/);
  });

  // last: it stops the gateway
  it('at the drain timeout an SSE stream gets event: error (overloaded, "shutting down") before the close', async () => {
    const res = await fetch(`${gw.proxy}/slow-sse`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const reader = res.body!.getReader();
    await reader.read();
    gw.child.kill('SIGTERM');
    let text = '';
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done) break;
      text += Buffer.from(r.value!).toString();
    }
    expect(await gw.exited).toBe(0);
    const last = /event: error\ndata: (.*)\n\n$/.exec(text);
    expect(last, text.slice(-300)).not.toBeNull();
    expect(JSON.parse(last![1])).toEqual({ error: { type: 'overloaded', code: 'shutting_down', message: 'shutting down' } });
  });
});
