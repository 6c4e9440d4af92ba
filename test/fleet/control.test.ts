// The fleet's control route, session listing handler and metrics, over a real HTTP server.
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from '../../src/control/router.js';
import { registerFleetRoutes, sendFleetSessions } from '../../src/control/routes/fleet.js';
import { registerFleetMetrics } from '../../src/control/metrics/fleet.js';
import { LocalFleet } from '../../src/fleet/local.js';

let server: Server | null = null;
afterEach(async () => { await new Promise((r) => server ? server.close(r) : r(null)); server = null; });

async function serve(router: Router): Promise<string> {
  server = createServer((req, res) => { void router.handle(req, res, new URL(req.url ?? '/', 'http://x')); });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

describe('fleet control', () => {
  it('serves /control/fleet and a fleet-wide session page', async () => {
    const fleet = new LocalFleet({ instanceId: 'A' });
    await fleet.start();
    fleet.record('s1', 2, 10, 20, 5, 1_700_000_000_000);
    await fleet.kill('s2');
    const router = new Router();
    registerFleetRoutes(router, fleet);
    router.get('/control/sessions', ({ res, query }) => sendFleetSessions(res, fleet, query));
    const base = await serve(router);

    const f = await (await fetch(`${base}/control/fleet`)).json();
    expect(f).toMatchObject({ mode: 'local', instance_id: 'A', health: { ok: true }, instances: ['A'] });

    const page = await (await fetch(`${base}/control/sessions?limit=10`)).json();
    expect(page.next_cursor).toBeNull();
    expect(page.sessions).toEqual([{
      id: 's1', state: 'active', last_seen_at: '2023-11-14T22:13:20.000Z', requests: 2, bytes_in: 10, bytes_out: 20,
      tokens: 5, instance: 'A', instances: ['A'],
    }]);
    for (const [q, code] of [['limit=0', 'invalid_limit'], ['limit=5abc', 'invalid_limit'], ['limit=1e3', 'invalid_limit'], ['limit=-1', 'invalid_limit'],
      ['state=bogus', 'invalid_state']]) {
      const bad = await fetch(`${base}/control/sessions?${q}`);
      expect(bad.status, q).toBe(400);
      expect((await bad.json()).error.code, q).toBe(code);
    }
  });

  it('exports fleet gauges', async () => {
    const fleet = new LocalFleet({ instanceId: 'A' });
    const reg = new Registry();
    registerFleetMetrics(reg, fleet);
    const text = await reg.metrics();
    expect(text).toMatch(/^cordon_fleet_up 1$/m);
    expect(text).toMatch(/^cordon_fleet_dropped_deltas 0$/m);
  });
});
