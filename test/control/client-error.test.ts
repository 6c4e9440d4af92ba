// What the control listener answers to requests node:http refuses before any route runs.
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createControlServer } from '../../src/control/server.js';
import { registerEventStreamRoute } from '../../src/control/routes/events.js';
import { EventBus } from '../../src/events.js';
import { Router } from '../../src/control/router.js';
import { sendJson } from '../../src/control/reply.js';
import { answerClientError, clientErrorAnswer } from '../../src/proxy/client-error.js';

let server: ReturnType<typeof createControlServer>;
let port = 0;
let hub: ReturnType<typeof registerEventStreamRoute>;

beforeAll(async () => {
  const router = new Router();
  router.post('/control/sessions/:id/kill', ({ res }) => sendJson(res, 200, { first: true }));
  router.post('/control/sessions/:id/kill', ({ res }) => sendJson(res, 200, { second: true }));
  hub = registerEventStreamRoute(router, new EventBus());
  server = createControlServer({ router, token: undefined, log: pino({ level: 'silent' }), notReady: () => null });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); });

/** Sends raw bytes and returns everything the server answers until it closes. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
    s.setTimeout(5000, () => { s.destroy(); reject(new Error(`no close; got ${out}`)); });
    s.write(bytes);
  });
}

function parse(resp: string): { status: number; body: { error: { type: string; code: string; message: string } } } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(resp)?.[1]);
  return { status, body: JSON.parse(resp.slice(resp.indexOf('\r\n\r\n') + 4)) };
}

describe('control listener: requests node refuses', () => {
  it('a malformed request gets 400 bad_http in the error shape', async () => {
    const r = parse(await raw('GARBAGE\r\n\r\n'));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request', code: 'bad_http' });
  });

  it('an unknown method gets 400, not a bare close', async () => {
    const r = parse(await raw('FOO /control/stats HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(r.status).toBe(400);
  });

  it('headers over the limit get 431 headers_too_large', async () => {
    const r = parse(await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(r.status).toBe(431);
    expect(r.body.error.code).toBe('headers_too_large');
  });

  it('CONNECT gets 405 method_not_allowed', async () => {
    const r = parse(await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
    expect(r.status).toBe(405);
    expect(r.body.error.code).toBe('method_not_allowed');
  });

  it('a WebSocket upgrade gets 400 upgrade_not_supported, not a bare close', async () => {
    const r = parse(await raw('GET /control/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('upgrade_not_supported');
  });

  it('HEAD /control/events answers the head and ends, holding no client slot', async () => {
    const resp = await raw('HEAD /control/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(resp).toMatch(/^HTTP\/1\.1 200 /);
    expect(resp.toLowerCase()).toContain('content-type: text/event-stream');
    expect(hub.clients.size).toBe(0);
  });

  it('the listener still serves afterwards', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
  });

  it('405 names a method once when two parts registered the same route', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/control/sessions/a/kill`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('GET is not allowed here; use POST');
  });
});

describe('answerClientError', () => {
  it('writes nothing into a connection whose response already sent its head', () => {
    const socket = new PassThrough() as PassThrough & { _httpMessage?: unknown };
    socket._httpMessage = { headersSent: true };
    let written = '';
    socket.on('data', (d: Buffer) => { written += d.toString(); });
    answerClientError(Object.assign(new Error('bad'), { code: 'HPE_INVALID_METHOD' }), socket);
    expect(written).toBe('');
    expect(socket.destroyed).toBe(true);
  });

  it('maps parser codes to statuses', () => {
    expect(clientErrorAnswer('HPE_HEADER_OVERFLOW').status).toBe(431);
    expect(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT').status).toBe(408);
    expect(clientErrorAnswer('HPE_INVALID_CONSTANT').status).toBe(400);
    expect(clientErrorAnswer(undefined).status).toBe(400);
  });
});
