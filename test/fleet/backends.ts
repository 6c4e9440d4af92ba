// The two FleetState implementations as interchangeable test backends: the same contract suite
// runs against both. Each pair is two instances ("A" and "B") that share one backend: a LocalHub
// in-process, or one Redis under a prefix unique to the test.
import { LocalFleet, LocalHub } from '../../src/fleet/local.js';
import { RedisFleet, type RedisFleetOptions } from '../../src/fleet/redis.js';
import type { FleetState } from '../../src/fleet/types.js';

export interface Pair {
  a: FleetState;
  b: FleetState;
  close(): Promise<void>;
}

export async function localPair(): Promise<Pair> {
  const hub = new LocalHub();
  const a = new LocalFleet({ instanceId: 'A', hub });
  const b = new LocalFleet({ instanceId: 'B', hub });
  await a.start();
  await b.start();
  return { a, b, close: async () => { await a.close(); await b.close(); } };
}

let n = 0;
export function uniquePrefix(): string {
  return `t${process.pid}-${++n}-${Date.now().toString(36)}:`;
}

export async function redisPair(url: string, extra: Partial<RedisFleetOptions> = {}, urlB = url): Promise<Pair & { a: RedisFleet; b: RedisFleet }> {
  const prefix = uniquePrefix();
  const a = new RedisFleet({ url, instanceId: 'A', prefix, flushIntervalMs: 20, heartbeatMs: 500, ...extra });
  const b = new RedisFleet({ url: urlB, instanceId: 'B', prefix, flushIntervalMs: 20, heartbeatMs: 500, ...extra });
  await a.start();
  await b.start();
  return { a, b, close: async () => { await a.close(); await b.close(); } };
}

/** Polls until `fn` returns true or the time is up; returns how long it took, or throws. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}
