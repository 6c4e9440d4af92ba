import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exposeGc, ExternalGarbageWatch, HeapShrinker } from '../../src/memory/shrink-heap.js';
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

  it('uses V8 pressure in place of gc when given, stepping to critical and back each time (V8 collects on the step)', () => {
    const levels: number[] = [];
    let t = 0;
    const s = new HeapShrinker({ pressure: (l) => levels.push(l), heapUsed: () => 0, rss: () => 0, trim: null, now: () => t });
    expect(s.available).toBe(true);
    s.shrink();
    t += 5000;
    s.shrink();
    expect(levels).toEqual([2, 0, 2, 0]);
  });
});

describe('V8 memory pressure (native/pressure.cc)', () => {
  it('gives back what a plain gc() keeps committed: fragmented old-space pages and a grown new space', () => {
    const built = existsSync(fileURLToPath(new URL('../../native/build/Release/cordon_trim.node', import.meta.url)));
    if (!built && process.env.CI !== 'true') {
      console.warn('native/ addon not built here (run npm run build:native); skipping');
      return;
    }
    const mod = fileURLToPath(new URL('../../dist/memory/malloc-trim.js', import.meta.url));
    // Fragment the old space (keep 1 object in 20) and grow the new space, then release.
    const script = (how: string) => `
      import v8 from 'node:v8';
      import { v8MemoryPressure } from ${JSON.stringify(mod)};
      let all = []; for (let i = 0; i < 1e6; i++) all.push({ a: i, s: 'x' + i });
      const keep = all.filter((_, i) => i % 20 === 0); all = null;
      for (let r = 0; r < 30; r++) { let t = []; for (let i = 0; i < 1e5; i++) t.push({ i }); }
      ${how === 'pressure' ? 'v8MemoryPressure()(2);' : 'gc();'}
      const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
      console.log(v8.getHeapStatistics().total_heap_size, ns, keep.length);`;
    const run = (how: string) => spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script(how)], { encoding: 'utf8' }).stdout.split(' ').map(Number);
    const [pressed, pressedNew] = run('pressure');
    const [plain, plainNew] = run('gc');
    expect(pressed).toBeGreaterThan(0);
    // measured: 68 vs 99 MiB in total, new space 1 vs 32 MiB
    expect(pressedNew).toBeLessThanOrEqual(2 * MiB);
    expect(plainNew).toBeGreaterThan(pressedNew * 4);
    expect(pressed).toBeLessThan(plain - 16 * MiB);
  });
});

describe('ExternalGarbageWatch', () => {
  it('collects once external memory grew by a sixteenth of the budget, at most once a second, from the level after', () => {
    let t = 0;
    let ext = 10 * MiB;
    let collections = 0;
    const w = new ExternalGarbageWatch(128 * MiB, () => { collections++; ext = 12 * MiB; }, () => ext, () => t);
    expect(w.stepBytes).toBe(8 * MiB);
    expect(w.check(10 * MiB)).toBe(false); // sets the base
    expect(w.check(17 * MiB)).toBe(false);
    expect(w.check(18 * MiB)).toBe(true);
    expect(collections).toBe(1);
    t += 500;
    expect(w.check(30 * MiB)).toBe(false); // too soon
    t += 500;
    expect(w.check(19 * MiB)).toBe(false); // base is now 12 MiB (after the collection)
    expect(w.check(20 * MiB)).toBe(true);
    expect(w.collections).toBe(2);
    expect(new ExternalGarbageWatch(16 * MiB, () => undefined).stepBytes).toBe(4 * MiB);
  });
});
