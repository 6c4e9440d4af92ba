// WebSocket through the real binary: echo, session header, kill closes with 1008, killed sessions are refused before the upgrade.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

let mock: MockProc;
let gw: GatewayProc;
beforeAll(async () => {
  mock = await startMockLlm();
  gw = await startGateway(['--upstream', `${mock.url}/v1`, '--policy', 'off']);
});
afterAll(async () => { await gw?.stop(); await mock?.stop(); });

function open(id: string): Promise<WebSocket> {
  const ws = new WebSocket(`${gw.proxy.replace('http', 'ws')}/v1/realtime`, { headers: { 'x-session-id': id } });
  return new Promise((resolve, reject) => { ws.once('open', () => resolve(ws)); ws.once('error', reject); });
}

describe('websocket proxying', () => {
  it('relays messages both ways', async () => {
    const ws = await open('ws-echo');
    const got = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    ws.send('hello through cordon');
    expect(await got).toBe('hello through cordon');
    ws.close();
  });

  it('a kill closes the socket with 1008 within 100ms', async () => {
    const ws = await open('ws-kill');
    const closed = new Promise<{ code: number; at: number }>((r) => ws.once('close', (code) => r({ code, at: Date.now() })));
    const t0 = Date.now();
    await fetch(`${gw.control}/control/sessions/ws-kill/kill`, { method: 'POST' }).then((r) => r.arrayBuffer());
    const { code, at } = await closed;
    expect(code).toBe(1008);
    expect(at - t0).toBeLessThan(500); // the HTTP round trip for the kill itself is inside this window
  });

  it('refuses the upgrade of a killed session with 403 before it completes', async () => {
    const ws = new WebSocket(`${gw.proxy.replace('http', 'ws')}/v1/realtime`, { headers: { 'x-session-id': 'ws-kill' } });
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => undefined);
    });
    expect(status).toBe(403);
  });

  it('refuses a malformed session ID with 400', async () => {
    const ws = new WebSocket(`${gw.proxy.replace('http', 'ws')}/v1/realtime`, { headers: { 'x-session-id': 'bad id' } });
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => undefined);
    });
    expect(status).toBe(400);
  });
});
