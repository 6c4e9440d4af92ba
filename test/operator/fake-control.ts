// Test helper: a small fake of the control API (SPEC.md shapes), with bearer auth.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '../../src/control/router.js';
import { registerDashboardRoutes, isDashboardPublicPath } from '../../src/control/routes/dashboard.js';

export interface FakeSession {
  id: string; state: string; upstream: string | null; client_ip: string | null; started_at: string; last_seen_at: string;
  requests: number; bytes_in: number; bytes_out: number; flags: number;
}

export interface FakeControl {
  url: string;
  server: Server;
  sessions: FakeSession[];
  requests: { method: string; url: string; auth: string | undefined }[];
  pressure: string;
  flagged: Record<string, unknown>[];
  /** writes one SSE event to every connected /control/events client */
  emit(ev: Record<string, unknown>, name?: string): void;
  sseClients: Set<ServerResponse>;
  close(): Promise<void>;
}

export function session(id: string, over: Partial<FakeSession> = {}): FakeSession {
  const t = new Date(Date.now() - 65_000).toISOString();
  return { id, state: 'active', upstream: 'http://127.0.0.1:1', client_ip: '127.0.0.1', started_at: t, last_seen_at: t, requests: 3, bytes_in: 2048, bytes_out: 10_000, flags: 0, ...over };
}

export async function startFakeControl(token?: string, sessions: FakeSession[] = []): Promise<FakeControl> {
  const fake = { sessions, requests: [], pressure: 'normal', flagged: [], sseClients: new Set() } as unknown as FakeControl;
  const dashboard = new Router();
  registerDashboardRoutes(dashboard);
  fake.emit = (ev, name) => {
    const text = `${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(ev)}\n\n`;
    for (const c of fake.sseClients) c.write(text);
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    fake.requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization });
    if (isDashboardPublicPath(u.pathname)) return void dashboard.handle(req, res, u);
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, { error: { message: 'missing or wrong token', type: 'unauthorized', code: 'unauthorized' } });
    }
    const p = u.pathname;
    if (p === '/control/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(': hello\n\n');
      fake.sseClients.add(res);
      req.on('close', () => fake.sseClients.delete(res));
      return;
    }
    if (p === '/control/flagged') return send(res, 200, { events: fake.flagged });
    if (p === '/control/stats') {
      return send(res, 200, {
        sessions: { active: fake.sessions.filter((s) => s.state === 'active').length, total: fake.sessions.length, killed: fake.sessions.filter((s) => s.state === 'killed').length },
        requests: { total: 42, blocked: 2 },
        memory: { rss_bytes: 100 * 2 ** 20, heap_used_bytes: 30 * 2 ** 20, bytes_per_session: 180, pressure: fake.pressure },
      });
    }
    if (p === '/control/memory') {
      return send(res, 200, { limit_bytes: 512 * 2 ** 20, rss_bytes: 100 * 2 ** 20, pressure: fake.pressure, components: { sessions: { count: fake.sessions.length, bytes: 4096 }, buffers: { bytes: 65536 }, unattributed: { bytes: 90 * 2 ** 20 } } });
    }
    if (p === '/control/sessions') {
      const state = u.searchParams.get('state');
      const limit = Number(u.searchParams.get('limit') ?? 100);
      const start = Number(u.searchParams.get('cursor') ?? 0);
      const list = fake.sessions.filter((s) => !state || s.state === state);
      const page = list.slice(start, start + limit);
      const next = start + limit < list.length ? String(start + limit) : null;
      return send(res, 200, { sessions: page, next_cursor: next });
    }
    const m = /^\/control\/sessions\/([^/]+)(?:\/(kill|resume))?$/.exec(p);
    if (m) {
      const id = decodeURIComponent(m[1]);
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id)) return send(res, 400, { error: { message: 'bad session ID', type: 'invalid_request', code: 'bad_session_id' } });
      let s = fake.sessions.find((x) => x.id === id);
      if (m[2] && req.method === 'POST') {
        if (!s) fake.sessions.push((s = session(id)));
        s.state = m[2] === 'kill' ? 'killed' : 'active';
        fake.emit({ kind: 'session', type: m[2] === 'kill' ? 'killed' : 'resumed', session_id: id, at: Date.now() }, 'session');
        return send(res, 200, { id, state: s.state });
      }
      if (!s) return send(res, 404, { error: { message: `no session ${id}`, type: 'not_found', code: 'not_found' } });
      return send(res, 200, s);
    }
    send(res, 404, { error: { message: 'no such endpoint', type: 'not_found', code: 'not_found' } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.server = server;
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return fake;
}
