import { describe, expect, it } from 'vitest';
import { CONN_FIXED_BYTES, WsRegistry, type RegisteredConn } from '../../src/proxy/websocket/registry.js';

function fake(slot: number, lastActive = Math.floor(Date.now() / 1000)): RegisteredConn & { closedWith: [number, string] | null } {
  return {
    id: 0, slot, lastActive, prevInSession: null, nextInSession: null, closedWith: null,
    close(code, reason) { this.closedWith = [code, reason]; },
    heldBytes: () => 10,
    info() { return { id: this.id, upstream: 'ws://u', started_at: '', bytes_in: 0, bytes_out: 0 }; },
  };
}

describe('WsRegistry', () => {
  it('indexes connections by session and unlinks from any position', () => {
    const r = new WsRegistry({ idleTimeoutMs: 60_000 });
    const a = fake(1), b = fake(1), c = fake(1), d = fake(2);
    for (const x of [a, b, c, d]) r.add(x);
    expect(r.count()).toBe(4);
    expect(r.forSession(1).map((i) => i.id).sort()).toEqual([a.id, b.id, c.id].sort());
    r.remove(b); // middle
    expect(r.forSession(1).map((i) => i.id).sort()).toEqual([a.id, c.id].sort());
    r.remove(c); // head (last added)
    r.remove(c); // idempotent
    expect(r.forSession(1).map((i) => i.id)).toEqual([a.id]);
    expect(r.bytes()).toBe(2 * (CONN_FIXED_BYTES + 10));
    expect(r.closeSession(1)).toBe(1);
    expect(a.closedWith).toEqual([1008, 'session_killed']);
    expect(r.forSession(1)).toEqual([]);
    expect(r.countForSession(2)).toBe(1);
    r.stop();
  });

  it('sweeps idle connections with 1001', () => {
    const r = new WsRegistry({ idleTimeoutMs: 10_000 });
    const now = Date.now();
    const old = fake(1, Math.floor(now / 1000) - 60), fresh = fake(1, Math.floor(now / 1000));
    r.add(old); r.add(fresh);
    expect(r.sweep(now)).toBe(1);
    expect(old.closedWith?.[0]).toBe(1001);
    expect(fresh.closedWith).toBeNull();
    expect(r.count()).toBe(1);
    r.closeAll();
    expect(fresh.closedWith?.[0]).toBe(1001);
    expect(r.count()).toBe(0);
  });
});
