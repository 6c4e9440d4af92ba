import { describe, expect, it } from 'vitest';
import { LeakWatch, TrendWindow } from '../../src/memory/trend.js';
import { MiB, recordingLog } from './fakes.js';

describe('TrendWindow', () => {
  it('fits a straight line exactly', () => {
    const w = new TrendWindow(10);
    for (let i = 0; i < 10; i++) w.push(1_700_000_000_000 + i * 1000, 500 + 3 * i);
    const f = w.fit()!;
    expect(f.slopePerSecond).toBeCloseTo(3, 9);
    expect(f.r2).toBeCloseTo(1, 9);
    expect(f.change).toBeCloseTo(27, 6);
    expect(f.spanMs).toBe(9000);
  });

  it('slides: old points fall out of the window', () => {
    const w = new TrendWindow(5);
    for (let i = 0; i < 5; i++) w.push(i * 1000, 100 * i); // rising
    for (let i = 5; i < 10; i++) w.push(i * 1000, 1000); // flat
    const f = w.fit()!;
    expect(w.size).toBe(5);
    expect(f.slopePerSecond).toBe(0);
    expect(f.r2).toBe(0);
  });

  it('a sawtooth (GC) has a poor fit', () => {
    const w = new TrendWindow(40);
    for (let i = 0; i < 40; i++) w.push(i * 1000, (i % 8) * MiB);
    expect(w.fit()!.r2).toBeLessThan(0.3);
  });

  it('needs three points and a time span', () => {
    const w = new TrendWindow(4);
    w.push(0, 1); w.push(1, 2);
    expect(w.fit()).toBeNull();
    const same = new TrendWindow(3);
    same.push(5, 1); same.push(5, 2); same.push(5, 3);
    expect(same.fit()).toBeNull();
    expect(() => new TrendWindow(2)).toThrow(RangeError);
  });
});

describe('LeakWatch', () => {
  const opts = { windowMs: 60_000, points: 12 };
  const feed = (lw: LeakWatch, n: number, f: (i: number) => { load: number; v: Record<string, number> }, start = 0) => {
    for (let i = start; i < start + n; i++) {
      const { load, v } = f(i);
      lw.observe(i * 5000, load, new Map(Object.entries(v)));
    }
  };

  it('warns when a series grows steadily while load is flat', () => {
    const { lines, log } = recordingLog();
    const lw = new LeakWatch(opts, log);
    feed(lw, 20, (i) => ({ load: 1000 + (i % 2), v: { rss: 200 * MiB + i * 2 * MiB, sessions: 300_000 } }));
    const s = lw.suspects();
    expect(s.map((x) => x.series)).toEqual(['rss']);
    expect(s[0].slope_bytes_per_s).toBeCloseTo((2 * MiB) / 5, -2);
    expect(s[0].r2).toBeGreaterThan(0.99);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1); // once, not at every sample
  });

  it('does not warn when growth follows load', () => {
    const lw = new LeakWatch(opts);
    feed(lw, 20, (i) => ({ load: 100 * i, v: { rss: 200 * MiB + i * 2 * MiB } }));
    expect(lw.suspects()).toEqual([]);
  });

  it('does not warn on noise or on growth below the floor', () => {
    const lw = new LeakWatch(opts);
    feed(lw, 20, (i) => ({
      load: 50,
      v: { rss: 200 * MiB + ((i * 7919) % 13) * MiB, small: 1000 + i * 10_000 /* < 1MiB over the window */ },
    }));
    expect(lw.suspects()).toEqual([]);
  });

  it('clears the flag once the series levels off', () => {
    const { lines, log } = recordingLog();
    const lw = new LeakWatch(opts, log);
    feed(lw, 15, (i) => ({ load: 10, v: { captures: i * MiB } }));
    expect(lw.isSuspect('captures')).toBe(true);
    feed(lw, 15, () => ({ load: 10, v: { captures: 14 * MiB } }), 15);
    expect(lw.isSuspect('captures')).toBe(false);
    expect(lines.some((l) => l.level === 'info' && l.msg?.includes('no longer'))).toBe(true);
  });

  it('keeps points at windowMs/points whatever the sampling rate', () => {
    const lw = new LeakWatch(opts);
    let taken = 0;
    for (let t = 0; t < 60_000; t += 100) if (lw.observe(t, 1, new Map([['rss', t]]))) taken++;
    expect(taken).toBe(12);
  });

  it('forgets a series', () => {
    const lw = new LeakWatch(opts);
    feed(lw, 15, (i) => ({ load: 10, v: { captures: i * MiB } }));
    lw.forget('captures');
    expect(lw.suspects()).toEqual([]);
  });
});
