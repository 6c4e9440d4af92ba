// The relay wired to the real proxy context (sessions, identity, upstream pool, verdicts), as
// src/gateway.ts wires it: kill and terminate reach WebSockets, refusals use the SPEC errors.
import { StreamAccounts } from '../../src/memory/streams.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { Auth } from '../../src/auth/service.js';
import { Spend } from '../../src/spend/service.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import { EventBus, type GatewayEvent } from '../../src/events.js';
import { createLogger } from '../../src/log.js';
import type { ProxyContext } from '../../src/proxy/context.js';
import { Inflight } from '../../src/proxy/inflight.js';
import { Uploads } from '../../src/proxy/uploads.js';
import { LocalFleet } from '../../src/fleet/index.js';
import { UpstreamSet } from '../../src/proxy/upstreams.js';
import { derivedSessionId, sessionIdFromJson, validSessionId } from '../../src/sessions/identity.js';
import { SessionTable } from '../../src/sessions/table.js';
import { SessionGate } from '../../src/sessions/gate.js';
import { createWsDeps } from '../../src/proxy/websocket/deps.js';
import { handleUpgrade } from '../../src/proxy/websocket/relay.js';
import { WsRegistry } from '../../src/proxy/websocket/registry.js';
import { WordInspector } from './harness.js';
import type { Hit } from '../../src/policy/types.js';

interface Setup { url: string; sessions: SessionTable; registry: WsRegistry; events: GatewayEvent[]; close(): Promise<void> }
let s: Setup | null = null;
afterEach(async () => { await s?.close(); s = null; });

async function setup(action: Hit['action'] = 'block', mode: 'enforce' | 'audit' = 'enforce'): Promise<Setup> {
  const echo = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => echo.once('listening', r));
  echo.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
  const cfg = configSchema.parse({ upstreams: [{ url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}/v1` }], mode }) as Config;
  const log = createLogger('silent');
  const bus = new EventBus();
  const events: GatewayEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const upstreams = new UpstreamSet(cfg, log);
  const sessions = new SessionTable({ upstreams: upstreams.list.map((u) => u.name), idleTimeoutMs: 300_000, completeAfterMs: 300_000, bus });
  const fleet = new LocalFleet();
  const gate = new SessionGate({ table: sessions, fleet });
  const ctx: ProxyContext = {
    cfg, bounds: PROFILE_BOUNDS[cfg.profile], log, bus, upstreams, sessions, gate,
    identity: { valid: validSessionId, fromJson: sessionIdFromJson, derive: derivedSessionId },
    policy: null, inflight: new Inflight(), uploads: new Uploads(), streams: new StreamAccounts(64 * 1024), fleet, fleetRates: [], capture: null, tools: null, counters: { total: 0, blocked: 0 }, accessLog: false,
    observe: () => {}, onHit: () => {},
    auth: new Auth(cfg, null), spend: new Spend(cfg, sessions),
  };
  const registry = new WsRegistry({ idleTimeoutMs: cfg.websocket.idle_timeout });
  sessions.onEnd((slot, reason) => registry.closeSession(slot, 1008, reason));
  const deps = createWsDeps(ctx, registry, {
    openInspector: (_slot, dir) => {
      const w = new WordInspector('forbidden', dir);
      const write = w.write.bind(w);
      w.write = (c) => write(c)?.map((h) => ({ ...h, action })) ?? null;
      return w;
    },
  });
  const server: Server = createServer();
  server.on('upgrade', (req, sock, head) => handleUpgrade(req, sock, head, deps));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, sessions, registry, events,
    async close() {
      registry.closeAll();
      registry.stop();
      for (const c of echo.clients) c.terminate();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await new Promise((r) => echo.close(r));
      await upstreams.destroy();
    },
  };
}

function open(url: string, headers: Record<string, string>): Promise<{ ws: WebSocket; res: IncomingMessage }> {
  const ws = new WebSocket(url + '/chat', { headers });
  return new Promise((resolve, reject) => {
    let res: IncomingMessage;
    ws.once('upgrade', (r) => (res = r));
    ws.once('open', () => resolve({ ws, res }));
    ws.once('error', reject);
  });
}
function refused(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => {});
  return new Promise((resolve) => ws.once('unexpected-response', (_q, r) => resolve(r)));
}
const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));

describe('createWsDeps: the relay under the gateway\'s session rules', () => {
  it('relays under the session, counting bytes, with X-Session-ID on the 101', async () => {
    s = await setup();
    const { ws, res } = await open(s.url, { 'x-session-id': 'agent-1' });
    expect(res.headers['x-session-id']).toBe('agent-1');
    ws.send('hello');
    await new Promise((r) => ws.once('message', r));
    const v = s.sessions.get('agent-1')!;
    expect(v.bytes_in).toBeGreaterThan(0);
    expect(v.bytes_out).toBeGreaterThan(0);
    expect(v.upstream).toContain('/v1');
    ws.terminate();
  });

  it('derives an ID when there is no header', async () => {
    s = await setup();
    const { ws, res } = await open(s.url, {});
    expect(res.headers['x-session-id']).toMatch(/^client-[0-9a-f]{16}$/);
    ws.terminate();
  });

  it('refuses a malformed ID with 400 and a killed session with 403 before the upgrade', async () => {
    s = await setup();
    expect((await refused(s.url, { 'x-session-id': 'bad id!' })).statusCode).toBe(400);
    s.sessions.kill('victim');
    const r = await refused(s.url, { 'x-session-id': 'victim' });
    expect(r.statusCode).toBe(403);
    expect(r.headers['x-session-id']).toBe('victim');
  });

  it('a kill closes the session\'s WebSockets with 1008 within 100ms', async () => {
    s = await setup();
    const { ws } = await open(s.url, { 'x-session-id': 'k1' });
    const c = closed(ws);
    const t0 = performance.now();
    s.sessions.kill('k1');
    const r = await c;
    expect(performance.now() - t0).toBeLessThan(100);
    expect(r).toEqual({ code: 1008, reason: 'session_killed' });
  });

  it('a terminate rule closes this connection and the session\'s other sockets, and records the event', async () => {
    s = await setup('terminate');
    const a = await open(s.url, { 'x-session-id': 't1' });
    const b = await open(s.url, { 'x-session-id': 't1' });
    const ca = closed(a.ws), cb = closed(b.ws);
    a.ws.send('something forbidden');
    expect((await ca).code).toBe(1008);
    expect((await cb).code).toBe(1008);
    expect(s.sessions.get('t1')!.state).toBe('terminated');
    expect(s.events.some((e) => e.kind === 'policy' && e.rule === 'no-forbidden' && e.action === 'terminate')).toBe(true);
    expect((await refused(s.url, { 'x-session-id': 't1' })).statusCode).toBe(403);
  });

  it('audit mode only flags', async () => {
    s = await setup('block', 'audit');
    const { ws } = await open(s.url, { 'x-session-id': 'aud' });
    ws.send('forbidden words');
    const m = await new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
    expect(m.toString()).toBe('forbidden words');
    expect(s.events.some((e) => e.kind === 'policy' && e.action === 'flag')).toBe(true);
    ws.terminate();
  });
});
