import { describe, expect, it } from 'vitest';
import { KILL_RANK, WriteQueue, type QueueRecord } from '../../src/storage/queue.js';

const ev = (i: number, sev = 'low'): QueueRecord => ({
  t: 'event', id: `e${i}`, kind: 'policy', session_id: 's', rule: 'r', severity: sev, action: 'flag', direction: 'request', excerpt: '', at: i,
});
const chunk = (owner: { gap: boolean }, n = 10): QueueRecord => ({ t: 'chunk', owner, bytes: Buffer.alloc(n), fin: false, at: 0 });

describe('write queue drop order', () => {
  it('evicts captures, then low, then medium severity; never kills', () => {
    const q = new WriteQueue(6, 1 << 30);
    const owner = { gap: false };
    q.push(0, chunk(owner));
    q.push(0, chunk(owner));
    q.push(1, ev(1));
    q.push(2, ev(2, 'medium'));
    q.push(4, ev(3, 'high'));
    q.push(5, ev(4, 'critical'));
    // full: each newcomer of higher value evicts the cheapest queued record
    q.push(4, ev(5, 'high'));
    q.push(4, ev(6, 'high'));
    expect(q.dropped.capture).toBe(2);
    expect(owner.gap).toBe(true);
    q.push(3, { t: 'session', id: 's', state: 'completed', upstream: null, client_ip: null, started_at: 0, last_seen_at: 0, ended_at: 0, requests: 0, bytes_in: 0, bytes_out: 0, flags: 0 });
    expect(q.dropped.event_low).toBe(1);
    q.push(4, ev(7, 'high'));
    expect(q.dropped.event_medium).toBe(1);
    // a newcomer cheaper than everything queued is the one dropped
    expect(q.push(1, ev(8))).toBe(false);
    expect(q.dropped.event_low).toBe(2);
    // kills go in even past the bound
    for (let i = 0; i < 5; i++) expect(q.push(KILL_RANK, { t: 'kill', id: `k${i}`, state: 'killed', at: 0 })).toBe(true);
    expect(q.depth).toBe(11);
    expect(q.dropped.kill).toBe(0);
    expect(q.buckets[5].length).toBe(1); // the critical event survived all of it
  });

  it('bounds bytes as well as rows, and take() releases them', () => {
    const q = new WriteQueue(1000, 10_000);
    const owner = { gap: false };
    for (let i = 0; i < 10; i++) q.push(0, chunk(owner, 2000));
    expect(q.bytes).toBeLessThanOrEqual(10_000);
    expect(q.dropped.capture).toBeGreaterThan(0);
    const depth = q.depth;
    const taken = q.take([depth]);
    expect(taken[0]).toHaveLength(depth);
    expect(q.depth).toBe(0);
    expect(q.bytes).toBe(0);
  });

  it('restore() puts a failed batch back in front and re-applies the bound', () => {
    const q = new WriteQueue(4, 1 << 30);
    for (let i = 0; i < 3; i++) q.push(1, ev(i));
    const taken = q.take([0, 2]);
    q.push(1, ev(10));
    q.push(4, ev(11, 'high'));
    q.push(4, ev(12, 'high'));
    q.restore(taken);
    expect(q.depth).toBe(4);
    expect(q.dropped.event_low).toBe(2);
    // the oldest low ones went; the order of what is left is preserved
    expect([0, 1].map((i) => (q.buckets[1].peekAt(i) as { id: string }).id)).toEqual(['e2', 'e10']);
  });
});
