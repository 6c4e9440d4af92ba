// The versioned local kill set: a pub/sub message and a snapshot read on another connection may
// arrive in either order; the newest version must win and a resume must not be undone.
import { describe, expect, it } from 'vitest';
import { KillSet } from '../../src/fleet/kill-set.js';
import { LocalRateTable, gcraStep } from '../../src/fleet/gcra.js';

function set() {
  const events: string[] = [];
  const k = new KillSet((id, s) => events.push(`${id}:${s}`));
  return { k, events };
}

describe('KillSet', () => {
  it('ignores a message older than what it holds', () => {
    const { k, events } = set();
    k.apply('x', 'killed', 5);
    k.apply('x', 'active', 4);
    expect(k.get('x')).toBe('killed');
    expect(events).toEqual(['x:killed']);
  });

  it('does not let an older snapshot undo a newer resume', () => {
    const { k, events } = set();
    k.apply('x', 'killed', 1);
    k.apply('x', 'active', 3); // resume message arrives first
    k.applySnapshot(2, new Map([['x', { s: 'k', v: 1 }]])); // snapshot taken between kill and resume
    expect(k.get('x')).toBeNull();
    expect(events).toEqual(['x:killed', 'x:active']);
  });

  it('drops a kill that a newer snapshot no longer holds (resumed while away)', () => {
    const { k, events } = set();
    k.apply('x', 'killed', 1);
    k.applySnapshot(7, new Map());
    expect(k.get('x')).toBeNull();
    expect(events).toEqual(['x:killed', 'x:active']);
  });

  it('keeps a pending local kill through a snapshot until Redis confirms it', () => {
    const { k } = set();
    k.applyLocal('p', 'terminated');
    k.applySnapshot(9, new Map());
    expect(k.get('p')).toBe('terminated');
    k.confirm('p', 'terminated', 10);
    k.applySnapshot(11, new Map());
    expect(k.get('p')).toBeNull();
  });

  it('lists held kills and prunes resume tombstones', () => {
    const { k } = set();
    k.apply('a', 'killed', 1);
    k.apply('b', 'terminated', 2);
    k.apply('c', 'active', 3);
    expect([...k.killed()]).toEqual([['a', 'killed'], ['b', 'terminated']]);
    expect(k.size).toBe(3);
    k.pruneTombstones();
    expect(k.size).toBe(2);
  });
});

describe('GCRA', () => {
  it('allows a burst of limit, then one unit per window/limit', () => {
    let tat = 0;
    for (let i = 0; i < 3; i++) { tat = gcraStep(tat, 1000, 3, 1000, 1); expect(tat).toBeGreaterThan(0); }
    const denied = gcraStep(tat, 1000, 3, 1000, 1);
    expect(denied).toBeLessThan(0);
    expect(-denied).toBe(334);
    expect(gcraStep(tat, 1000 + 334, 3, 1000, 1)).toBeGreaterThan(0);
  });

  it('bounds its table', () => {
    const t = new LocalRateTable(10);
    for (let i = 0; i < 50; i++) t.take(`k${i}`, 1, 60_000, 1, 1000);
    expect(t.size).toBeLessThanOrEqual(10);
  });
});
