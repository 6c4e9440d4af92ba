import { describe, expect, it } from 'vitest';
import { PressureActions } from '../../src/memory/actions.js';
import { MemoryGovernor } from '../../src/memory/governor.js';
import { FakeMemory, MiB, recordingLog } from './fakes.js';

function setup() {
  const mem = new FakeMemory();
  const { lines, log } = recordingLog();
  const g = new MemoryGovernor({ limitBytes: 100 * MiB, sampler: mem.sampler, now: mem.now, leakWatch: false, log });
  const actions = new PressureActions(g, log);
  const at = (mb: number) => { mem.rss = mb * MiB; g.sampleNow(); };
  return { g, actions, at, lines };
}

describe('PressureActions', () => {
  it('enters, ticks and leaves actions as the ladder moves, and ends with all off', () => {
    const { actions, at } = setup();
    const calls: string[] = [];
    const rec = (name: string, level: 'warning' | 'critical') => ({
      level,
      enter: () => calls.push(`${name}+`),
      tick: () => calls.push(`${name}.`),
      leave: () => calls.push(`${name}-`),
    });
    actions.add('shed_captures', rec('shed', 'warning'));
    actions.add('evict_idle', rec('evict', 'warning'));
    actions.add('refuse_new', rec('refuse', 'critical'));
    at(50);
    expect(calls).toEqual([]);
    at(85);
    expect(calls).toEqual(['shed+', 'evict+', 'shed.', 'evict.']);
    calls.length = 0;
    at(97);
    expect(calls).toEqual(['refuse+', 'shed.', 'evict.', 'refuse.']);
    calls.length = 0;
    at(80);
    expect(calls).toEqual(['refuse-', 'shed.', 'evict.']);
    calls.length = 0;
    at(30);
    expect(calls).toEqual(['evict-', 'shed-']); // undone in reverse order
    expect(actions.states().every((s) => !s.active)).toBe(true);
    expect(actions.states().find((s) => s.name === 'refuse_new')).toMatchObject({ entered: 1, ticks: 1 });
  });

  it('an action added while pressure is already high enters at once', () => {
    const { actions, at } = setup();
    at(99);
    let entered = false;
    actions.add('pause_slow_readers', { level: 'critical', enter: () => { entered = true; } });
    expect(entered).toBe(true);
  });

  it('a failing action is logged and the others still run', () => {
    const { actions, at, lines } = setup();
    let ran = false;
    actions.add('bad', { level: 'warning', enter: () => { throw new Error('x'); } });
    actions.add('good', { level: 'warning', enter: () => { ran = true; } });
    at(90);
    expect(ran).toBe(true);
    expect(lines.some((l) => l.level === 'error' && l.msg?.includes('bad'))).toBe(true);
  });

  it('removing an active action leaves it', () => {
    const { actions, at } = setup();
    let left = false;
    const off = actions.add('trim', { level: 'warning', leave: () => { left = true; } });
    at(90);
    off();
    expect(left).toBe(true);
    expect(() => actions.add('x', { level: 'warning' })).not.toThrow();
    expect(() => actions.add('x', { level: 'warning' })).toThrow(/already/);
  });
});
