import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryGovernor, nextLevel } from '../../src/memory/governor.js';
import { REQUIRED_COMPONENTS } from '../../src/memory/types.js';
import { FakeMemory, MiB, recordingLog } from './fakes.js';

function governor(mem: FakeMemory, extra: Partial<ConstructorParameters<typeof MemoryGovernor>[0]> = {}) {
  return new MemoryGovernor({ limitBytes: 100 * MiB, sampler: mem.sampler, now: mem.now, leakWatch: false, ...extra });
}

describe('nextLevel', () => {
  const step = (cur: 'normal' | 'warning' | 'critical', r: number) => nextLevel(cur, r, 0.8, 0.95, 0.05);
  it('rises at the thresholds', () => {
    expect(step('normal', 0.79)).toBe('normal');
    expect(step('normal', 0.8)).toBe('warning');
    expect(step('normal', 0.95)).toBe('critical');
    expect(step('warning', 0.96)).toBe('critical');
  });
  it('falls only below threshold minus hysteresis', () => {
    expect(step('warning', 0.77)).toBe('warning');
    expect(step('warning', 0.749)).toBe('normal');
    expect(step('critical', 0.91)).toBe('critical');
    expect(step('critical', 0.89)).toBe('warning');
    expect(step('critical', 0.76)).toBe('warning');
    expect(step('critical', 0.5)).toBe('normal');
  });
});

describe('MemoryGovernor', () => {
  afterEach(() => vi.useRealTimers());

  it('runs the ladder up and back to normal, logging and counting every transition', () => {
    const mem = new FakeMemory();
    const { lines, log } = recordingLog();
    const g = governor(mem, { log });
    const seen: string[] = [];
    g.onPressure((level, prev) => seen.push(`${prev}->${level}`));
    mem.rss = 50 * MiB; g.sampleNow();
    expect(g.pressure).toBe('normal');
    mem.rss = 85 * MiB; g.sampleNow();
    expect(g.pressure).toBe('warning');
    mem.rss = 97 * MiB; g.sampleNow();
    expect(g.pressure).toBe('critical');
    expect(g.overloaded).toBe(true);
    mem.rss = 92 * MiB; g.sampleNow(); // inside the hysteresis band: stays critical
    expect(g.pressure).toBe('critical');
    mem.rss = 85 * MiB; g.sampleNow();
    expect(g.pressure).toBe('warning');
    mem.rss = 77 * MiB; g.sampleNow(); // below warning but within 5%: stays warning
    expect(g.pressure).toBe('warning');
    mem.rss = 60 * MiB; g.sampleNow();
    expect(g.pressure).toBe('normal');
    expect(seen).toEqual(['normal->warning', 'warning->critical', 'critical->warning', 'warning->normal']);
    const snap = g.snapshot();
    expect(snap.transitions).toEqual({ total: 4, to_normal: 1, to_warning: 2, to_critical: 1 });
    expect(snap.last_transition).toMatchObject({ from: 'warning', to: 'normal' });
    const transitionsLogged = lines.filter((l) => l.msg?.startsWith('memory pressure'));
    expect(transitionsLogged.map((l) => l.level)).toEqual(['warn', 'warn', 'info', 'info']);
    expect(transitionsLogged[0].obj).toMatchObject({ from: 'normal', to: 'warning', rss_bytes: 85 * MiB, limit_bytes: 100 * MiB });
  });

  it('returns to normal on its own from the timer, sampling faster while under pressure', () => {
    vi.useFakeTimers();
    const mem = new FakeMemory();
    const g = governor(mem, { sampleIntervalMs: 1000, pressuredIntervalMs: 100 });
    mem.rss = 10 * MiB;
    g.start();
    mem.rss = 99 * MiB;
    vi.advanceTimersByTime(1000);
    expect(g.pressure).toBe('critical');
    mem.rss = 20 * MiB; // load ends
    vi.advanceTimersByTime(100); // pressured interval, not the normal one
    expect(g.pressure).toBe('normal');
    g.stop();
    mem.rss = 99 * MiB;
    vi.advanceTimersByTime(5000);
    expect(g.pressure).toBe('normal'); // stopped: no more samples
  });

  it('samples faster when approaching warning, slower when far from it', () => {
    vi.useFakeTimers();
    const mem = new FakeMemory();
    const g = governor(mem, { sampleIntervalMs: 1000, pressuredIntervalMs: 100, approach: 0.15 });
    let n = 0;
    g.onSample(() => n++);
    mem.rss = 10 * MiB;
    g.start();
    vi.advanceTimersByTime(1000);
    expect(n).toBe(2); // start + one at 1000ms
    mem.rss = 70 * MiB; // above 0.8 - 0.15 of the limit, still normal
    vi.advanceTimersByTime(1000); // the sample at 2000ms sees 70MiB and switches to 100ms
    n = 0;
    vi.advanceTimersByTime(1000);
    expect(g.pressure).toBe('normal');
    expect(n).toBe(10);
    g.stop();
  });

  it('keeps the sampling timer unref\'d so it never holds the process open', () => {
    const mem = new FakeMemory();
    const g = governor(mem);
    const spy = vi.spyOn(globalThis, 'setTimeout');
    g.start();
    const timer = spy.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    g.stop();
    spy.mockRestore();
  });

  it('reports every required component, the runtime baseline and unattributed, summing to RSS', () => {
    const mem = new FakeMemory();
    const g = governor(mem);
    mem.rss = 40 * MiB;
    g.start(); // baseline: 40MiB, nothing registered yet
    g.stop();
    let sessions = 0;
    g.register('sessions', { bytes: () => sessions * 200, count: () => sessions });
    g.register('buffers', { bytes: () => 2 * MiB, count: () => 3, details: () => ({ hit_rate: 0.5 }) });
    sessions = 1000;
    mem.rss = 50 * MiB;
    g.sampleNow();
    const snap = g.snapshot();
    for (const name of [...REQUIRED_COMPONENTS, 'unattributed']) expect(snap.components[name]?.bytes).toBeTypeOf('number');
    expect(snap.components.sessions).toEqual({ bytes: 200_000, count: 1000 });
    expect(snap.components.buffers).toEqual({ bytes: 2 * MiB, count: 3, hit_rate: 0.5 });
    expect(snap.components.runtime.bytes).toBe(40 * MiB);
    expect(snap.components.unattributed.bytes).toBe(50 * MiB - 40 * MiB - 200_000 - 2 * MiB);
    const sum = Object.values(snap.components).reduce((a, c) => a + c.bytes, 0);
    expect(sum).toBe(snap.rss_bytes);
    expect(snap).toMatchObject({ limit_bytes: 100 * MiB, rss_bytes: 50 * MiB, pressure: 'normal', usage_ratio: 0.5 });
  });

  it('survives a component that throws, counting it 0 and logging once', () => {
    const mem = new FakeMemory();
    const { lines, log } = recordingLog();
    const g = governor(mem, { log, baselineBytes: 0 });
    g.register('scanners', { bytes: () => { throw new Error('boom'); } });
    mem.rss = 10 * MiB;
    g.sampleNow(); g.sampleNow();
    expect(g.snapshot().components.scanners.bytes).toBe(0);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('refuses bad settings and duplicate or derived names', () => {
    const mem = new FakeMemory();
    expect(() => governor(mem, { limitBytes: 0 })).toThrow(RangeError);
    expect(() => governor(mem, { warning: 0.9, critical: 0.8 })).toThrow(RangeError);
    const g = governor(mem);
    g.register('sessions', { bytes: () => 0 });
    expect(() => g.register('sessions', { bytes: () => 0 })).toThrow(/already/);
    expect(() => g.register('unattributed', { bytes: () => 0 })).toThrow(/derived/);
  });

  it('a listener that throws does not stop the ladder or other listeners', () => {
    const mem = new FakeMemory();
    const g = governor(mem);
    const seen: string[] = [];
    g.onPressure(() => { throw new Error('bad listener'); });
    g.onPressure((l) => seen.push(l));
    mem.rss = 99 * MiB;
    g.sampleNow();
    expect(g.pressure).toBe('critical');
    expect(seen).toEqual(['critical']);
  });

  it('flags a component that grows while load is flat, in the snapshot', () => {
    const mem = new FakeMemory();
    const { lines, log } = recordingLog();
    const g = new MemoryGovernor({
      limitBytes: 1024 * MiB, sampler: mem.sampler, now: mem.now, log,
      leakWatch: { windowMs: 60_000, points: 12 },
    });
    let leaked = 0;
    g.register('sessions', { bytes: () => 100_000, count: () => 500 });
    g.register('captures', { bytes: () => leaked });
    mem.rss = 100 * MiB;
    for (let i = 0; i < 30; i++) {
      leaked += 512 * 1024; // 0.5MiB per 5s, sessions steady at 500
      mem.rss += 1024 * 1024; // RSS: 11MiB over the window, > 5% of its mean
      g.sampleNow();
      mem.t += 5000;
    }
    const suspects = g.snapshot().leak_suspects.map((s) => s.series).sort();
    expect(suspects).toEqual(['captures', 'rss']);
    expect(lines.some((l) => l.level === 'warn' && l.msg?.includes('captures grows steadily'))).toBe(true);
  });
});
