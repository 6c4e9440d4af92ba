import { describe, expect, it } from 'vitest';
import { EventBus, type GatewayEvent, type SessionEvent } from '../../src/events.js';
import { SessionTable, parseIpv4, EPOCH_S } from '../../src/sessions/table.js';
import { BadCursorError } from '../../src/sessions/types.js';

const T0 = 1_800_000_000_000; // 2027-01-15

function make(opts: { idle?: number; complete?: number; max?: number; cap?: number } = {}) {
  const clock = { now: T0 };
  const bus = new EventBus();
  const events: SessionEvent[] = [];
  bus.subscribe((e: GatewayEvent) => { if (e.kind === 'session') events.push(e); });
  const table = new SessionTable({
    upstreams: ['http://a', 'http://b'],
    idleTimeoutMs: opts.idle ?? 300_000,
    completeAfterMs: opts.complete ?? 300_000,
    bus,
    max: opts.max,
    initialCapacity: opts.cap ?? 16,
    now: () => clock.now,
  });
  return { table, bus, events, clock };
}

describe('SessionTable basics', () => {
  it('creates on first resolve, counts requests and bytes, and reports a view', () => {
    const { table, events } = make();
    const s = table.resolve('agent-1', '10.1.2.3', 1, 100, T0);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(table.resolve('agent-1', '10.9.9.9', 0, 50, T0 + 2000)).toBe(s);
    table.addBytesOut(s, 1000);
    table.addBytesIn(s, 7);
    table.addFlag(s);
    const v = table.get('agent-1')!;
    expect(v).toEqual({
      id: 'agent-1', state: 'active', upstream: 'http://a', client_ip: '10.1.2.3',
      started_at: new Date(T0).toISOString(), last_seen_at: new Date(T0 + 2000).toISOString(),
      requests: 2, bytes_in: 157, bytes_out: 1000, flags: 1,
    });
    expect(table.idOf(s)).toBe('agent-1');
    expect(table.refusal(s)).toBeNull();
    expect(events.map((e) => e.type)).toEqual(['started']);
    expect(table.stats()).toEqual({ active: 1, total: 1, killed: 0 });
    expect(table.get('nope')).toBeUndefined();
  });

  it('keeps bytes beyond 2^32 exactly', () => {
    const { table } = make();
    const s = table.resolve('big', '', 0, 0, T0);
    table.addBytesOut(s, 2 ** 32 + 5);
    table.addBytesOut(s, 2 ** 32 + 5);
    expect(table.get('big')!.bytes_out).toBe(2 ** 33 + 10);
  });

  it('stores IPv4, mapped IPv4 and IPv6 client addresses', () => {
    const { table } = make();
    table.resolve('v4', '192.168.0.255', 0, 0, T0);
    table.resolve('mapped', '::ffff:127.0.0.1', 0, 0, T0);
    table.resolve('v6', '2001:db8::1', 0, 0, T0);
    table.resolve('none', '', 0, 0, T0);
    expect(table.get('v4')!.client_ip).toBe('192.168.0.255');
    expect(table.get('mapped')!.client_ip).toBe('::ffff:127.0.0.1');
    expect(table.get('v6')!.client_ip).toBe('2001:db8::1');
    expect(table.get('none')!.client_ip).toBeNull();
  });

  it('parseIpv4 accepts dotted quads only', () => {
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('1.2.3.4')).toBe(0x01020304);
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4444', '']) expect(parseIpv4(bad)).toBe(-1);
  });

  it('upstream -1 keeps the previous upstream; setUpstream/upstreamOf for sticky balancing', () => {
    const { table } = make();
    const s = table.resolve('u', '', -1, 0, T0);
    expect(table.upstreamOf(s)).toBe(-1);
    expect(table.get('u')!.upstream).toBeNull();
    table.setUpstream(s, 1);
    table.resolve('u', '', -1, 0, T0);
    expect(table.upstreamOf(s)).toBe(1);
    expect(table.get('u')!.upstream).toBe('http://b');
  });

  it('grows by doubling and reuses freed slots', () => {
    const { table, clock } = make({ idle: 1000, complete: 1000, cap: 16 });
    const freed: number[] = [];
    table.onFree((slot) => freed.push(slot));
    const slots = new Set<number>();
    for (let i = 0; i < 40; i++) slots.add(table.resolve(`s${i}`, '', 0, 0, T0));
    expect(slots.size).toBe(40);
    expect(table.capacity()).toBe(64);
    // records written before growth survive it
    expect(table.get('s0')).toMatchObject({ id: 's0', state: 'active', requests: 1, upstream: 'http://a' });
    expect(table.get('s39')).toMatchObject({ id: 's39', state: 'active', requests: 1 });
    clock.now = T0 + 3000;
    expect(table.sweep(clock.now)).toEqual({ idled: 40, completed: 40 });
    expect(table.size()).toBe(0);
    // each freed slot is told once (policy.releaseSession), before any reuse
    expect(new Set(freed)).toEqual(slots);
    expect(freed).toHaveLength(40);
    const reused = new Set<number>();
    for (let i = 0; i < 40; i++) reused.add(table.resolve(`n${i}`, '', 0, 0, clock.now));
    // every new session took a freed slot; the arrays did not grow
    expect([...reused].every((s) => slots.has(s))).toBe(true);
    expect(table.capacity()).toBe(64);
    // a reused slot starts clean
    const v = table.get('n0')!;
    expect(v.requests).toBe(1);
    expect(v.bytes_out).toBe(0);
    expect(v.flags).toBe(0);
  });

  it('returns -1 when max live sessions is reached, but still takes kills', () => {
    const { table } = make({ max: 2 });
    expect(table.resolve('a', '', 0, 0, T0)).toBeGreaterThanOrEqual(0);
    expect(table.resolve('b', '', 0, 0, T0)).toBeGreaterThanOrEqual(0);
    expect(table.resolve('c', '', 0, 0, T0)).toBe(-1);
    expect(table.resolve('a', '', 0, 0, T0)).toBeGreaterThanOrEqual(0);
    expect(table.kill('d').state).toBe('killed');
  });

  it('estimates the request rate over the last minute from two counters', () => {
    const { table } = make();
    const t = (Math.ceil((T0 / 1000 - EPOCH_S) / 60) * 60 + EPOCH_S) * 1000; // a window boundary
    let s = -1;
    for (let i = 0; i < 10; i++) s = table.resolve('r', '', 0, 0, t + i * 1000);
    expect(table.recentRequests(s, t + 10_000)).toBe(10);
    // half-way through the next minute, half of the last minute still counts
    expect(table.recentRequests(s, t + 90_000)).toBeCloseTo(5, 5);
    table.resolve('r', '', 0, 0, t + 90_000);
    expect(table.recentRequests(s, t + 90_000)).toBeCloseTo(6, 5);
    expect(table.recentRequests(s, t + 300_000)).toBe(0);
  });
});

describe('lifecycle', () => {
  it('active → idle after idle_timeout, back to active on a request, completed after complete_after more', () => {
    const { table, events, clock } = make({ idle: 10_000, complete: 20_000 });
    table.resolve('x', '1.1.1.1', 0, 5, T0);
    clock.now = T0 + 9_000;
    table.sweep(clock.now);
    expect(table.get('x')!.state).toBe('active');
    clock.now = T0 + 10_000;
    expect(table.sweep(clock.now)).toEqual({ idled: 1, completed: 0 });
    expect(table.get('x')!.state).toBe('idle');
    expect(table.countsByState()).toEqual({ active: 0, idle: 1, killed: 0, terminated: 0 });
    // a request wakes it
    table.resolve('x', '1.1.1.1', 0, 5, T0 + 15_000);
    expect(table.get('x')!.state).toBe('active');
    clock.now = T0 + 25_000;
    table.sweep(clock.now);
    expect(table.get('x')!.state).toBe('idle');
    clock.now = T0 + 44_000;
    expect(table.sweep(clock.now).completed).toBe(0);
    clock.now = T0 + 45_000;
    expect(table.sweep(clock.now).completed).toBe(1);
    expect(table.get('x')).toBeUndefined();
    const done = events.filter((e) => e.type === 'completed');
    expect(done).toHaveLength(1);
    expect(done[0].summary).toEqual({
      id: 'x', state: 'completed', upstream: 'http://a', client_ip: '1.1.1.1',
      started_at: T0, last_seen_at: T0 + 15_000, requests: 2, bytes_in: 10, bytes_out: 0, flags: 0,
    });
    expect(events.map((e) => e.type)).toEqual(['started', 'idle', 'idle', 'completed']);
    expect(table.stats()).toEqual({ active: 0, total: 1, killed: 0 });
  });

  it('a long silent gap passes through idle and completed in one sweep', () => {
    const { table, events } = make({ idle: 1000, complete: 1000 });
    table.resolve('y', '', 0, 0, T0);
    expect(table.sweep(T0 + 60_000)).toEqual({ idled: 1, completed: 1 });
    expect(events.map((e) => e.type)).toEqual(['started', 'idle', 'completed']);
  });

  it('byte traffic on a long stream keeps the session from going idle', () => {
    const { table } = make({ idle: 10_000, complete: 10_000 });
    const s = table.resolve('stream', '', 0, 0, T0);
    table.sweep(T0 + 8_000); // advances the table clock
    table.addBytesOut(s, 10);
    table.sweep(T0 + 16_000);
    expect(table.get('stream')!.state).toBe('active');
  });

  it('a held slot (request in flight) is never swept or reused; release lets it age again', () => {
    const { table } = make({ idle: 1000, complete: 1000 });
    const s = table.resolve('long', '', 0, 0, T0);
    table.hold(s);
    expect(table.sweep(T0 + 3_600_000)).toEqual({ idled: 0, completed: 0 });
    expect(table.get('long')!.state).toBe('active');
    expect(table.resolve('other', '', 0, 0, T0 + 3_600_000)).not.toBe(s);
    table.release(s); // stamps last-seen with the table clock (the last sweep's time)
    expect(table.get('long')!.last_seen_at).toBe(new Date(T0 + 3_600_000).toISOString());
    table.release(s); // extra releases are harmless
    expect(table.sweep(T0 + 3_602_000)).toEqual({ idled: 2, completed: 2 }); // 'long' and 'other'
    expect(table.get('long')).toBeUndefined();
  });

  it('evictIdle frees the least recently seen idle sessions first', () => {
    const { table, events } = make({ idle: 1000, complete: 3_600_000 });
    for (let i = 0; i < 5; i++) table.resolve(`e${i}`, '', 0, 0, T0 + i * 1000);
    table.resolve('busy', '', 0, 0, T0 + 100_000);
    table.sweep(T0 + 100_000);
    expect(table.countsByState().idle).toBe(5);
    expect(table.evictIdle(2, T0 + 100_000)).toBe(2);
    expect(table.get('e0')).toBeUndefined();
    expect(table.get('e1')).toBeUndefined();
    expect(table.get('e2')!.state).toBe('idle');
    expect(table.get('busy')!.state).toBe('active');
    expect(events.filter((e) => e.type === 'completed').map((e) => e.reason)).toEqual(['evicted', 'evicted']);
    expect(table.evictIdle(100)).toBe(3);
    expect(table.evictIdle(1)).toBe(0);
    expect(table.size()).toBe(1);
  });

  it('the timer sweeps a large table in chunks across event-loop turns', async () => {
    const t = new SessionTable({ upstreams: [], idleTimeoutMs: 1, completeAfterMs: 1, sweepIntervalMs: 10, initialCapacity: 1024 });
    const old = Date.now() - 10_000;
    for (let i = 0; i < 70_000; i++) t.resolve(`c${i}`, '', 0, 0, old);
    let turns = 0;
    const counter = setInterval(() => turns++, 0);
    t.start();
    for (let k = 0; k < 200 && t.size() > 0; k++) await new Promise((r) => setTimeout(r, 10));
    clearInterval(counter);
    t.stop();
    expect(t.size()).toBe(0);
    expect(turns).toBeGreaterThan(0);
  });

  it('start() runs an unref-ed sweep timer; stop() ends it', async () => {
    const { table } = make();
    const real = new SessionTable({ upstreams: [], idleTimeoutMs: 1, completeAfterMs: 1, sweepIntervalMs: 20 });
    real.resolve('t', '', 0, 0, Date.now() - 10_000);
    real.start();
    real.start(); // idempotent
    await new Promise((r) => setTimeout(r, 80));
    expect(real.get('t')).toBeUndefined();
    real.stop();
    real.stop();
    expect(table.size()).toBe(0);
  });
});

describe('kill, terminate, resume', () => {
  it('kill refuses later requests, fires onEnd with the slot, and is sticky through sweeps', () => {
    const { table, events, clock } = make({ idle: 1000, complete: 1000 });
    const ended: Array<[number, string]> = [];
    table.onEnd((slot, reason) => ended.push([slot, reason]));
    const s = table.resolve('k', '', 0, 0, T0);
    expect(table.kill('k')).toMatchObject({ id: 'k', state: 'killed', reason: 'operator' });
    expect(ended).toEqual([[s, 'session_killed']]);
    expect(table.refusal(s)).toBe('session_killed');
    expect(table.resolve('k', '', 0, 0, T0 + 1000)).toBe(s);
    expect(table.refusal(s)).toBe('session_killed');
    clock.now = T0 + 86_400_000 * 30;
    table.sweep(clock.now);
    expect(table.get('k')!.state).toBe('killed');
    expect(table.stats().killed).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['started', 'killed']);
  });

  it('killing an unknown ID kills it in advance', () => {
    const { table, events } = make();
    const ended: number[] = [];
    table.onEnd((slot) => ended.push(slot));
    const v = table.kill('future-agent');
    expect(v.state).toBe('killed');
    expect(v.requests).toBe(0);
    expect(table.stats()).toEqual({ active: 0, total: 0, killed: 1 });
    const s = table.resolve('future-agent', '10.0.0.1', 0, 0, T0);
    expect(table.refusal(s)).toBe('session_killed');
    expect(table.get('future-agent')!.client_ip).toBe('10.0.0.1');
    expect(table.stats()).toEqual({ active: 0, total: 1, killed: 1 });
    expect(events.map((e) => e.type)).toEqual(['killed']);
  });

  it('a kill in advance lifted before any request leaves no session behind', () => {
    const { table, events } = make();
    table.kill('never-came');
    expect(table.resume('never-came').state).toBe('active');
    expect(table.get('never-came')).toBeUndefined();
    expect(table.stats()).toEqual({ active: 0, total: 0, killed: 0 });
    expect(events.map((e) => e.type)).toEqual(['killed', 'resumed']);
  });

  it('kill and resume are idempotent and end consistent in any interleaving', () => {
    const { table, events } = make();
    const ended: number[] = [];
    table.onEnd((slot) => ended.push(slot));
    table.resolve('i', '', 0, 0, T0);
    table.kill('i');
    table.kill('i');
    expect(ended).toHaveLength(1);
    expect(table.resume('i').state).toBe('active');
    expect(table.resume('i').state).toBe('active');
    // a sequence of operations always ends in the state of the last one
    const ops = ['kill', 'resume', 'kill', 'kill', 'resume', 'resume', 'kill'] as const;
    for (let n = 1; n <= ops.length; n++) {
      for (const op of ops.slice(0, n)) (op === 'kill' ? table.kill('i') : table.resume('i'));
      const last = ops[n - 1];
      expect(table.get('i')!.state).toBe(last === 'kill' ? 'killed' : 'active');
      const st = table.stats();
      expect(st.killed + st.active).toBe(1);
    }
    // one event per real transition, never for no-ops
    const types = events.map((e) => e.type).filter((t) => t !== 'started');
    for (let i = 1; i < types.length; i++) expect(types[i]).not.toBe(types[i - 1]);
  });

  it('resume of an unknown ID answers active and creates nothing', () => {
    const { table, events } = make();
    expect(table.resume('ghost')).toMatchObject({ id: 'ghost', state: 'active' });
    expect(table.get('ghost')).toBeUndefined();
    expect(table.size()).toBe(0);
    expect(events).toHaveLength(0);
  });

  it('terminate is sticky until resume and reports session_terminated', () => {
    const { table, events, clock } = make({ idle: 1000, complete: 1000 });
    const ended: Array<[number, string]> = [];
    table.onEnd((slot, reason) => ended.push([slot, reason]));
    const s = table.resolve('t', '', 0, 0, T0);
    table.terminate(s, 'no-exfil');
    table.terminate(s, 'again');
    expect(ended).toEqual([[s, 'session_terminated']]);
    expect(table.refusal(s)).toBe('session_terminated');
    expect(table.get('t')).toMatchObject({ state: 'terminated', reason: 'no-exfil' });
    clock.now = T0 + 3_600_000;
    table.sweep(clock.now);
    expect(table.get('t')!.state).toBe('terminated');
    // a kill overrides a terminate
    expect(table.kill('t').state).toBe('killed');
    expect(table.resume('t').state).toBe('active');
    expect(table.refusal(s)).toBeNull();
    expect(table.get('t')!.reason).toBeUndefined();
    const term = events.find((e) => e.type === 'terminated')!;
    expect(term.reason).toBe('no-exfil');
    // once resumed it follows the normal lifecycle again
    table.sweep(clock.now + 1);
    expect(table.get('t')).toBeUndefined();
  });

  it('rejects malformed IDs in kill/resume', () => {
    const { table } = make();
    expect(() => table.kill('bad id')).toThrow(TypeError);
    expect(() => table.resume('')).toThrow(TypeError);
  });

  it('a throwing onEnd listener does not stop the others', () => {
    const { table } = make();
    let called = false;
    table.onEnd(() => { throw new Error('boom'); });
    table.onEnd(() => { called = true; });
    table.resolve('z', '', 0, 0, T0);
    table.kill('z');
    expect(called).toBe(true);
  });

  it('loadKills restores kills silently and skips bad IDs', () => {
    const { table, events } = make();
    table.resolve('live', '', 0, 0, T0);
    const n = table.loadKills([{ id: 'old', at: T0 - 86_400_000 }, { id: 'live' }, { id: 'bad id' }, { id: 'ruled', state: 'terminated' }]);
    expect(n).toBe(3);
    const ruled = table.slotOf('ruled');
    expect(table.refusal(ruled)).toBe('session_terminated');
    expect(table.get('old')).toMatchObject({ state: 'killed', started_at: new Date(T0 - 86_400_000).toISOString() });
    expect(table.get('live')!.state).toBe('killed');
    expect(events.map((e) => e.type)).toEqual(['started']);
  });
});

describe('list', () => {
  it('pages with an opaque cursor, filters by state, and is stable under inserts', () => {
    const { table } = make({ cap: 16 });
    for (let i = 0; i < 25; i++) table.resolve(`p${i}`, '', 0, 0, T0);
    table.kill('p3');
    table.kill('p20');
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = table.list({ limit: 10, cursor });
      seen.push(...page.sessions.map((s) => s.id));
      cursor = page.next_cursor ?? undefined;
      // inserts while paging must not duplicate or skip existing sessions
      table.resolve(`new${pages}`, '', 0, 0, T0);
      pages++;
    } while (cursor && pages < 20);
    const old = seen.filter((id) => id.startsWith('p'));
    expect(new Set(old).size).toBe(25);
    expect(old.length).toBe(25);
    const killed = table.list({ limit: 100, state: 'killed' });
    expect(killed.sessions.map((s) => s.id)).toEqual(['p3', 'p20']);
    expect(killed.next_cursor).toBeNull();
    expect(table.list({ limit: 100, state: 'completed' })).toEqual({ sessions: [], next_cursor: null });
    const one = table.list({ limit: 1, state: 'killed' });
    expect(one.sessions.map((s) => s.id)).toEqual(['p3']);
    expect(table.list({ limit: 1, state: 'killed', cursor: one.next_cursor! }).sessions.map((s) => s.id)).toEqual(['p20']);
  });

  it('gives no next cursor on the last page and rejects foreign cursors', () => {
    const { table } = make();
    table.resolve('a', '', 0, 0, T0);
    expect(table.list({ limit: 1 }).next_cursor).toBeNull();
    expect(() => table.list({ limit: 1, cursor: 'garbage!' })).toThrow(BadCursorError);
    expect(table.list({ limit: 5, cursor: 's' + (1e6).toString(36) })).toEqual({ sessions: [], next_cursor: null });
  });
});

describe('memory accounting', () => {
  it('counts arrays, map entries and ID strings, and frees them with the session', () => {
    const { table } = make({ idle: 1000, complete: 1000, cap: 1024 });
    const empty = table.bytes();
    expect(table.bytesPerSession()).toBe(0);
    for (let i = 0; i < 1000; i++) table.resolve(`session-${i}-xxxxxxxxxx`, '', 0, 0, T0);
    const full = table.bytes();
    expect(full).toBeGreaterThan(empty);
    const per = table.bytesPerSession();
    expect(per).toBeGreaterThan(46 + 8 + 28);
    expect(per).toBeLessThan(256);
    table.sweep(T0 + 10_000);
    expect(table.bytes()).toBe(empty);
  });

  it('timestamps are seconds after the epoch base', () => {
    expect(EPOCH_S * 1000).toBeLessThan(T0);
  });
});
