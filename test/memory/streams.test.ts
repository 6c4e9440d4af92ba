import { describe, expect, it } from 'vitest';
import { MemoryGovernor } from '../../src/memory/governor.js';
import { MIN_RESET_BYTES, STREAM_OVERHEAD_BYTES, StreamResetter } from '../../src/memory/overload.js';
import { PRESSURED_STREAM_BUFFER, StreamAccounts } from '../../src/memory/streams.js';
import { silentLog } from '../../src/memory/types.js';
import { FakeMemory, MiB } from './fakes.js';
import { FakeStream } from './fake-streams.js';

describe('StreamAccounts', () => {
  it('sums the accounts listed, and forgets a stream once removed (idempotently)', () => {
    const acc = new StreamAccounts(64 * 1024);
    const a = new FakeStream(100);
    const b = new FakeStream(250);
    acc.add(a); acc.add(b); acc.add(a);
    expect(acc.count()).toBe(2);
    expect(acc.bytes()).toBe(350);
    a.held = 1000;
    expect(acc.bytes()).toBe(1250);
    acc.remove(a); acc.remove(a);
    expect(acc.count()).toBe(1);
    expect(acc.bytes()).toBe(250);
    acc.remove(b);
    expect(acc.bytes()).toBe(0);
    acc.add(b);
    expect(acc.count()).toBe(1);
  });

  it('lists the top N by bytes held with session, kind and age', () => {
    const acc = new StreamAccounts(64 * 1024);
    const ss = [5, 50, 500, 1, 5000].map((n, i) => new FakeStream(n, i % 2 ? 'http' : 'websocket', `s${i}`));
    for (const s of ss) acc.add(s);
    const top = acc.top(3);
    expect(top.map((r) => r.session_id)).toEqual(['s4', 's2', 's1']);
    expect(top[0]).toMatchObject({ kind: 'websocket', buffered_bytes: 5000 });
    expect(top[0].age_ms).toBeGreaterThanOrEqual(0);
    expect(acc.top(100)).toHaveLength(5);
  });

  it('lowers the limit under pressure, never above the configured one', () => {
    const acc = new StreamAccounts(64 * 1024);
    acc.setPressured(true);
    expect(acc.limit).toBe(PRESSURED_STREAM_BUFFER);
    acc.setPressured(false);
    expect(acc.limit).toBe(64 * 1024);
    const small = new StreamAccounts(8 * 1024);
    small.setPressured(true);
    expect(small.limit).toBe(8 * 1024);
  });

  it('resets the largest first until the bytes needed are covered, skipping the small ones', () => {
    const acc = new StreamAccounts(64 * 1024);
    const ss = [10_000, 90_000, 3_000, 50_000, 70_000].map((n) => new FakeStream(n));
    for (const s of ss) acc.add(s);
    const seen: number[] = [];
    acc.onReset((_k, _r, b) => seen.push(b));
    const r = acc.resetLargest(100_000, 5_000);
    expect(r).toEqual({ streams: 2, bytes: 160_000 });
    expect(seen).toEqual([90_000, 70_000]);
    expect(ss.map((s) => s.resets)).toEqual([0, 1, 0, 0, 1]);
    expect(acc.count()).toBe(3);
    // Everything left above the minimum, however much is asked; the 3,000-byte stream stays.
    expect(acc.resetLargest(1e12, 5_000).streams).toBe(2);
    expect(ss[2].resets).toBe(0);
    expect(acc.resets().get('sse:memory_critical')).toBe(4);
  });
});

describe('stalled uploads', () => {
  it('resets the streams stalled at least that long and holding at least that much, counted by reason', () => {
    const acc = new StreamAccounts(64 * 1024);
    const a = new FakeStream(1 * MiB, 'upload'); a.stalledMs = 5_000;
    const b = new FakeStream(1 * MiB, 'upload'); b.stalledMs = 1_000;
    const c = new FakeStream(100, 'upload'); c.stalledMs = 9_000;
    const d = new FakeStream(1 * MiB, 'sse');
    for (const s of [a, b, c, d]) acc.add(s);
    expect(acc.resetStalled(3_000, 4096)).toEqual({ streams: 1, bytes: 1 * MiB });
    expect([a, b, c, d].map((s) => s.resets)).toEqual([1, 0, 0, 0]);
    expect(acc.resets().get('upload:stalled_upload')).toBe(1);
    expect(acc.count()).toBe(3);
  });
});

describe('StreamResetter', () => {
  const setup = () => {
    const mem = new FakeMemory();
    const g = new MemoryGovernor({ limitBytes: 100 * MiB, sampler: mem.sampler, now: mem.now, baselineBytes: 40 * MiB, leakWatch: false });
    const acc = new StreamAccounts(64 * 1024);
    let t = 0;
    const r = new StreamResetter(g, acc, silentLog, () => t);
    return { mem, g, acc, r, advance: (ms: number) => { t += ms; } };
  };

  it('resets nothing below the exit line of critical', () => {
    const { mem, g, acc, r } = setup();
    const s = new FakeStream(1 * MiB);
    acc.add(s);
    mem.rss = 89 * MiB; // critical 0.95 - hysteresis 0.05 = 90 MiB
    g.sampleNow();
    expect(r.tick()).toBe(0);
    expect(s.resets).toBe(0);
  });

  it('resets the largest until RSS should be under the line, credits them while RSS lags, then goes on', () => {
    const { mem, g, acc, r, advance } = setup();
    const big = Array.from({ length: 10 }, (_, i) => new FakeStream(1 * MiB + i));
    const idle = Array.from({ length: 100 }, () => new FakeStream(MIN_RESET_BYTES - 1));
    for (const s of [...big, ...idle]) acc.add(s);
    mem.rss = 93 * MiB; // 3 MiB over the line
    g.sampleNow();
    expect(r.tick()).toBe(3);
    expect(big.slice(7).every((s) => s.resets === 1)).toBe(true);
    // RSS has not moved yet: the reset bytes are credited, nothing more is reset.
    advance(500);
    expect(r.tick()).toBe(0);
    // Past the credit window RSS is still over: reset again.
    advance(2_500);
    expect(r.tick()).toBe(3);
    expect(r.streams).toBe(6);
    // Streams holding less than the minimum are never reset, however far over.
    mem.rss = 500 * MiB;
    g.sampleNow();
    advance(5_000);
    expect(r.tick()).toBe(4);
    advance(5_000);
    expect(r.tick()).toBe(0);
    expect(idle.every((s) => s.resets === 0)).toBe(true);
    expect(r.bytes).toBeGreaterThan(10 * MiB - 1);
    expect(STREAM_OVERHEAD_BYTES).toBeGreaterThan(0);
  });
});
