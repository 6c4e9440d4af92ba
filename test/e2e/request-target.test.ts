// End to end: request-targets that are not a path. `OPTIONS *` three times used to eject a healthy
// upstream (undici refused the path and the exchange counted it as an upstream failure).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, statusOf } from '../helpers/raw-http.js';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

let mock: MockProc;
let gw: GatewayProc;

beforeAll(async () => {
  mock = await startMockLlm();
  gw = await startGateway(['--upstream', mock.url, '--policy', 'off']);
});
afterAll(async () => {
  await gw?.stop();
  await mock?.stop();
});


describe('request-targets that are not a path', () => {
  it('asterisk-form gets 400 bad_request_target and never counts against the upstream', async () => {
    for (let i = 0; i < 5; i++) {
      const resp = await raw(gw.proxy, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(statusOf(resp)).toBe(400);
      expect(resp).toContain('"code":"bad_request_target"');
    }
    const ready = await fetch(`${gw.control}/readyz`);
    expect(ready.status).toBe(200);
    const r = await fetch(`${gw.proxy}/v1/models`);
    expect(r.status).toBe(200);
  });

  it('absolute-form goes upstream as its path only', async () => {
    const resp = await raw(gw.proxy, 'GET http://evil.example/echo?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(statusOf(resp)).toBe(200);
    expect(resp).toContain('"url":"/echo?a=1"');
  });

  it('headers over the limit get 431', async () => {
    const resp = await raw(gw.proxy, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(statusOf(resp)).toBe(431);
  });

  it('garbage pipelined behind a streaming response is not written into that stream', async () => {
    const u = new URL(gw.proxy);
    const body = '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}';
    const out = await new Promise<string>((resolve) => {
      const s = connect(Number(u.port), u.hostname);
      let acc = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => { acc += d; });
      s.on('error', () => resolve(acc));
      s.on('close', () => resolve(acc));
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-mock-delay-ms: 100\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      setTimeout(() => s.write('GARBAGE\r\n\r\n'), 350);
      s.setTimeout(5000, () => { s.destroy(); resolve(acc); });
    });
    expect(out.startsWith('HTTP/1.1 200')).toBe(true);
    expect(out).not.toContain('HTTP/1.1 400');
    expect((await fetch(`${gw.control}/healthz`)).status).toBe(200);
  });
});
