// End to end: one misbehaving session cannot make another session's requests fail (issue #20).
// Session "noisy" sends 100 requests that its upstream answers 503 (x-mock-status: the request
// itself causes the failure) while session "calm" keeps working: none of calm's requests fails,
// nothing is ejected (calm's requests still reach both upstreams), and the single-upstream pool
// stays ready. A 500 never counts; two sessions failing together do eject.
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type Proc } from '../helpers/procs.js';

const procs: Proc[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
});

async function get(proxy: string, session: string, status?: number): Promise<{ status: number; server: string | null }> {
  const headers: Record<string, string> = { 'x-session-id': session };
  if (status !== undefined) headers['x-mock-status'] = String(status);
  const r = await fetch(`${proxy}/v1/models`, { headers });
  await r.arrayBuffer();
  return { status: r.status, server: r.headers.get('x-mock-server') };
}

/** `n` requests, `width` at a time. */
async function run<T>(n: number, width: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) { const i = next++; out[i] = await one(i); }
  }));
  return out;
}

describe('upstream health that one client cannot poison', () => {
  it('100 failing requests of one session eject nothing; the other session never fails', async () => {
    const a = await startMockLlm(); const b = await startMockLlm(); procs.push(a, b);
    const gw = await startGateway(['--upstream', a.url, '--upstream', b.url, '--policy', 'off']); procs.push(gw);
    const [noisy, calm] = await Promise.all([
      run(100, 4, () => get(gw.proxy, 'noisy', 503)),
      run(40, 2, () => get(gw.proxy, 'calm')),
    ]);
    expect(noisy.every((r) => r.status === 503)).toBe(true);
    expect(calm.filter((r) => r.status !== 200)).toEqual([]);
    // afterwards too, and round robin still spreads over both: neither was ejected
    const after = await run(10, 1, () => get(gw.proxy, 'calm'));
    expect(after.every((r) => r.status === 200)).toBe(true);
    expect(new Set(after.map((r) => r.server))).toEqual(new Set([a.address, b.address]));
    expect(gw.logs.some((l) => l.msg === 'upstream ejected after consecutive failures')).toBe(false);
  }, 30_000);

  it('with a single upstream, a session failing 100 times in a row leaves it serving and ready', async () => {
    const a = await startMockLlm(); procs.push(a);
    const gw = await startGateway(['--upstream', a.url, '--policy', 'off']); procs.push(gw);
    const noisy = await run(100, 4, () => get(gw.proxy, 'noisy', 502));
    expect(noisy.every((r) => r.status === 502)).toBe(true);
    // two more sessions failing together cannot eject the last upstream either
    await run(6, 2, (i) => get(gw.proxy, `other-${i % 2}`, 504));
    expect((await get(gw.proxy, 'calm')).status).toBe(200);
    expect((await fetch(`${gw.control}/readyz`)).status).toBe(200);
  }, 30_000);

  it('500s never eject; 503s from two sessions eject that upstream, and traffic moves to the other', async () => {
    const a = await startMockLlm(); const b = await startMockLlm(); procs.push(a, b);
    const gw = await startGateway(['--upstream', a.url, '--upstream', b.url, '--policy', 'off']); procs.push(gw);
    await run(20, 1, (i) => get(gw.proxy, `s${i % 3}`, 500));
    expect(gw.logs.some((l) => l.msg === 'upstream ejected after consecutive failures')).toBe(false);
    // three sessions failing on both: the first upstream to reach eject_after goes, the last one stays
    await run(8, 1, (i) => get(gw.proxy, `s${i % 3}`, 503));
    const ejected = gw.logs.filter((l) => l.msg === 'upstream ejected after consecutive failures');
    expect(ejected).toHaveLength(1);
    const after = await run(6, 1, () => get(gw.proxy, 'calm'));
    expect(after.every((r) => r.status === 200)).toBe(true);
    expect(new Set(after.map((r) => r.server)).size).toBe(1);
  }, 30_000);
});
