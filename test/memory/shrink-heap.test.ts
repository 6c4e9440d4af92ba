import { describe, expect, it } from 'vitest';
import { exposeGc, HeapShrinker } from '../../src/memory/shrink-heap.js';
import { MiB } from './fakes.js';

describe('HeapShrinker', () => {
  it('collects at most once per interval and backs off while it frees little', () => {
    let t = 0;
    let heap = 100 * MiB;
    let freeOnGc = 30 * MiB;
    let calls = 0;
    const s = new HeapShrinker({ gc: () => { calls++; heap -= freeOnGc; }, heapUsed: () => heap, rss: () => 0, trim: null, now: () => t, minIntervalMs: 1000, maxIntervalMs: 8000 });
    expect(s.shrink()).toBe(30 * MiB);
    expect(s.shrink()).toBe(-1); // too soon
    t += 1000;
    freeOnGc = 0; // live memory: collecting does not help
    expect(s.shrink()).toBe(0); // interval doubles to 2000
    t += 1000;
    expect(s.shrink()).toBe(-1);
    t += 1000;
    expect(s.shrink()).toBe(0); // 4000
    t += 4000;
    expect(s.shrink()).toBe(0); // 8000 (max)
    t += 8000;
    expect(s.shrink()).toBe(0); // stays at 8000
    t += 7999;
    expect(s.shrink()).toBe(-1);
    s.reset();
    expect(s.shrink()).toBe(0);
    expect(calls).toBe(6);
    expect(s.runs).toBe(6);
    expect(s.freedBytes).toBe(30 * MiB);
  });

  it('counts what the trim returns to the OS: no back-off while RSS still falls', () => {
    let t = 0;
    let rss = 120 * MiB;
    let trims = 0;
    const s = new HeapShrinker({ gc: () => {}, heapUsed: () => 20 * MiB, rss: () => rss, trim: () => { trims++; rss -= 4 * MiB; }, now: () => t, minIntervalMs: 1000, maxIntervalMs: 8000 });
    expect(s.shrink()).toBe(4 * MiB); // the heap freed nothing, the process gave back 4 MiB
    t += 1000;
    expect(s.shrink()).toBe(4 * MiB); // so the interval stayed at 1000
    expect(trims).toBe(2);
    expect(s.trims).toBe(true);
  });

  it('does nothing without a gc function', () => {
    const s = new HeapShrinker({ gc: null });
    expect(s.available).toBe(false);
    expect(s.shrink()).toBe(-1);
  });

  it('exposes V8 gc at run time and it really frees garbage', () => {
    const gc = exposeGc();
    expect(typeof gc).toBe('function');
    const s = new HeapShrinker();
    let junk: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    expect((junk as unknown[]).length).toBe(200_000);
    junk = null;
    expect(s.shrink()).toBeGreaterThan(5 * MiB);
  });
});
