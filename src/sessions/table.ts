// The session table: one slot per live session in typed arrays, plus one
// Map<string, slot>. A JS object per session with a few fields and an array of request times
// costs kilobytes; a slot here costs a 48-byte record in one typed buffer, an 8-byte pointer to the ID string,
// the string itself and one Map entry (~150B in all; bench/sessions.mjs measures it).
//
// Layout and rules:
// - The record layout is described at SLOT below.
// - Slots are reused through an intrusive free list threaded through the requests field (a free slot
//   has no request count to keep). The buffer grows by doubling and never
//   shrinks; indices never move, which is what keeps list() cursors stable.
// - Times are uint32 seconds since EPOCH_S (2020-09-13), good until the year 2156.
// - Client IPs: IPv4 (and IPv4-mapped IPv6) as a uint32; anything else in a side map created on
//   first use. Terminate reasons likewise. Rare data never costs the common slot anything.
// - The request rate is a two-counter sliding window (this minute and the last), not a list.
// - Lifecycle: active → idle after idle_timeout without requests → completed (slot freed, a
//   `completed` event with the summary published) after complete_after more. killed and
//   terminated are sticky: sweep never touches them; only resume ends them.
import { EventBus, type SessionEvent, type SessionSummary } from '../events.js';
import {
  BadCursorError,
  type EndReason,
  type SessionControl,
  type SessionCounts,
  type SessionListQuery,
  type SessionPage,
  type SessionStateName,
  type SessionView,
} from './types.js';
import { validSessionId } from './identity.js';
import { flatten, mapBytes, parseIpv4, stringBytes } from './compact.js';

export { parseIpv4 };

/** Seconds of the epoch base: timestamps are stored as uint32 seconds after it. */
export const EPOCH_S = 1_600_000_000;

const FREE = 0;
const ACTIVE = 1;
const IDLE = 2;
const KILLED = 3;
const TERMINATED = 4;
const STATE_NAMES: readonly SessionStateName[] = ['completed', 'active', 'idle', 'killed', 'terminated'];
const STATE_CODES: Record<string, number> = { active: ACTIVE, idle: IDLE, killed: KILLED, terminated: TERMINATED };

// One 48-byte record per slot in one buffer (array of structs): a request touches one or two
// cache lines instead of one per field, which at 1M sessions is what lookup+update costs.
//   byte 0 state u8 | 1 meta u8 | 2 upstream u16 | 4 started u32 | 8 last seen u32 | 12 requests u32
//   16 flags u32 | 20 IPv4 u32 | 24 rate window u16 | 26 this window u16 | 28 last window u16
//   30 in-flight u16
//   32 bytes in f64 | 40 bytes out f64 (f64: exact to 2^53)
const SLOT = 48;
const SLOT_U16 = SLOT / 2;
const SLOT_U32 = SLOT / 4;
const SLOT_F64 = SLOT / 8;
// field offsets, in units of the view that reads them
const F_STATE = 0; // u8
const F_META = 1; // u8
const F_UPSTREAM = 1; // u16
const F_STARTED = 1; // u32
const F_LAST_SEEN = 2; // u32
const F_REQUESTS = 3; // u32 (the free-list link while the slot is free)
const F_FLAGS = 4; // u32
const F_IPV4 = 5; // u32
const F_RATE_WINDOW = 12; // u16
const F_RATE_NOW = 13; // u16
const F_RATE_LAST = 14; // u16
const F_INFLIGHT = 15; // u16: requests holding the slot (hold/release)
const F_BYTES_IN = 4; // f64
const F_BYTES_OUT = 5; // f64

const NO_UPSTREAM = 0xffff;
// meta bits
const IP_V4 = 1;
const IP_MAPPED = 2; // the client address was ::ffff:a.b.c.d
const IP_OTHER = 4; // in the ipOther side map
const COUNTED = 8; // created by a request (counts in stats().total)

const RATE_WINDOW_S = 60;
// slots per step of a timer-driven sweep (~1ms of work per step)
const SWEEP_CHUNK = 65_536;
const U16_MAX = 0xffff;

export interface SessionTableOptions {
  /** upstream names (base URLs), indexed by the proxy's upstream number */
  upstreams: readonly string[];
  idleTimeoutMs: number;
  completeAfterMs: number;
  bus?: EventBus;
  /** most live sessions; resolve() returns -1 beyond it (kills are always taken) */
  max?: number;
  initialCapacity?: number;
  /** the clock, for tests */
  now?: () => number;
  /** how often start() sweeps; default idle_timeout / 4, within 250ms..5s */
  sweepIntervalMs?: number;
}

export interface KillEntry {
  id: string;
  /** what storage kept: an operator's kill (default) or a rule's terminate */
  state?: 'killed' | 'terminated';
  /** epoch ms of the kill; now when absent */
  at?: number;
}

export class SessionTable implements SessionControl {
  private cap: number;
  private hwm = 0; // slots [0, hwm) have been used at least once
  private freeHead = -1;
  // four views of one buffer; see SLOT for the record layout
  private u8!: Uint8Array;
  private u16!: Uint16Array;
  private u32!: Uint32Array;
  private f64!: Float64Array;
  private ids: string[];
  private readonly index = new Map<string, number>();
  private ipOther: Map<number, string> | undefined;
  private reasons: Map<number, string> | undefined;

  private readonly counts = new Uint32Array(5);
  private totalSeen = 0;
  private idBytes = 0;
  private sideBytes = 0;
  private clockS = 0;

  private readonly upstreams: readonly string[];
  private readonly idleS: number;
  private readonly completeS: number;
  private readonly bus: EventBus | undefined;
  private readonly max: number;
  private readonly now: () => number;
  private readonly sweepMs: number;
  private readonly endListeners: Array<(slot: number, reason: EndReason) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private passTimer: NodeJS.Immediate | undefined;
  private passAt = -1; // next slot of a timer-driven sweep pass, -1 when none runs

  constructor(opts: SessionTableOptions) {
    this.upstreams = opts.upstreams;
    this.idleS = Math.max(1, Math.ceil(opts.idleTimeoutMs / 1000));
    this.completeS = Math.max(0, Math.ceil(opts.completeAfterMs / 1000));
    this.bus = opts.bus;
    this.max = opts.max ?? Number.MAX_SAFE_INTEGER;
    this.now = opts.now ?? Date.now;
    this.sweepMs = opts.sweepIntervalMs ?? Math.min(5_000, Math.max(250, Math.floor(opts.idleTimeoutMs / 4)));
    const cap = Math.max(16, opts.initialCapacity ?? 1024);
    this.cap = cap;
    this.setBuffer(new ArrayBuffer(cap * SLOT));
    this.ids = new Array<string>(cap).fill('');
    this.clockS = toS(this.now());
  }

  // ---- the hot path ----------------------------------------------------------------------

  resolve(id: string, clientIp: string, upstream: number, bytesIn: number, nowMs: number): number {
    const nowS = toS(nowMs);
    this.clockS = nowS;
    let slot = this.index.get(id);
    if (slot === undefined) {
      if (this.live() >= this.max) return -1;
      slot = this.alloc(id, ACTIVE, nowS);
      this.u8[slot * SLOT + F_META] = COUNTED;
      this.setIp(slot, clientIp);
      this.totalSeen++;
      if (this.bus) this.emit('started', id, nowMs);
    } else {
      if (this.u8[slot * SLOT + F_STATE] === IDLE) this.setState(slot, ACTIVE);
      if ((this.u8[slot * SLOT + F_META] & COUNTED) === 0) {
        // killed in advance, and now the session really shows up
        this.u8[slot * SLOT + F_META] |= COUNTED;
        this.totalSeen++;
        if (this.ipOf(slot) === null) this.setIp(slot, clientIp);
      }
      const w = (Math.floor(nowS / RATE_WINDOW_S)) & U16_MAX;
      const last = this.u16[slot * SLOT_U16 + F_RATE_WINDOW];
      if (last === w) {
        if (this.u16[slot * SLOT_U16 + F_RATE_NOW] < U16_MAX) this.u16[slot * SLOT_U16 + F_RATE_NOW]++;
      } else {
        this.u16[slot * SLOT_U16 + F_RATE_LAST] = last === ((w - 1) & U16_MAX) ? this.u16[slot * SLOT_U16 + F_RATE_NOW] : 0;
        this.u16[slot * SLOT_U16 + F_RATE_NOW] = 1;
        this.u16[slot * SLOT_U16 + F_RATE_WINDOW] = w;
      }
    }
    this.u32[slot * SLOT_U32 + F_LAST_SEEN] = nowS;
    if (this.u32[slot * SLOT_U32 + F_REQUESTS] < 0xffffffff) this.u32[slot * SLOT_U32 + F_REQUESTS]++;
    if (upstream >= 0 && upstream < NO_UPSTREAM) this.u16[slot * SLOT_U16 + F_UPSTREAM] = upstream;
    this.f64[slot * SLOT_F64 + F_BYTES_IN] += bytesIn;
    return slot;
  }

  refusal(slot: number): EndReason | null {
    const s = this.u8[slot * SLOT + F_STATE];
    if (s === KILLED) return 'session_killed';
    if (s === TERMINATED) return 'session_terminated';
    return null;
  }

  // Byte counters also refresh last-seen (with the clock of the last resolve/sweep, no Date.now
  // per chunk) so that a long stream keeps its session from going idle under it.
  addBytesIn(slot: number, n: number): void {
    this.f64[slot * SLOT_F64 + F_BYTES_IN] += n;
    this.u32[slot * SLOT_U32 + F_LAST_SEEN] = this.clockS;
  }

  addBytesOut(slot: number, n: number): void {
    this.f64[slot * SLOT_F64 + F_BYTES_OUT] += n;
    this.u32[slot * SLOT_U32 + F_LAST_SEEN] = this.clockS;
  }

  addFlag(slot: number): void {
    if (this.u32[slot * SLOT_U32 + F_FLAGS] < 0xffffffff) this.u32[slot * SLOT_U32 + F_FLAGS]++;
  }

  idOf(slot: number): string {
    return this.ids[slot];
  }

  /** The session's upstream index, or -1 (for `sticky` balancing). */
  upstreamOf(slot: number): number {
    const u = this.u16[slot * SLOT_U16 + F_UPSTREAM];
    return u === NO_UPSTREAM ? -1 : u;
  }

  setUpstream(slot: number, upstream: number): void {
    this.u16[slot * SLOT_U16 + F_UPSTREAM] = upstream >= 0 && upstream < NO_UPSTREAM ? upstream : NO_UPSTREAM;
  }

  /** Requests in the last minute, estimated from the two window counters. */
  recentRequests(slot: number, nowMs: number): number {
    const nowS = toS(nowMs);
    const w = Math.floor(nowS / RATE_WINDOW_S) & U16_MAX;
    const last = this.u16[slot * SLOT_U16 + F_RATE_WINDOW];
    const frac = (nowS % RATE_WINDOW_S) / RATE_WINDOW_S;
    if (last === w) return this.u16[slot * SLOT_U16 + F_RATE_NOW] + this.u16[slot * SLOT_U16 + F_RATE_LAST] * (1 - frac);
    if (last === ((w - 1) & U16_MAX)) return this.u16[slot * SLOT_U16 + F_RATE_NOW] * (1 - frac);
    return 0;
  }

  /**
   * Marks a request of this session in flight until release(): sweep and evictIdle leave the slot
   * alone meanwhile, so a stream longer than idle_timeout + complete_after never finds its slot
   * freed and given to another session. Call once per request after resolve(), release once at its end.
   */
  hold(slot: number): void {
    const i = slot * SLOT_U16 + F_INFLIGHT;
    if (this.u16[i] < U16_MAX) this.u16[i]++;
  }

  release(slot: number): void {
    const i = slot * SLOT_U16 + F_INFLIGHT;
    if (this.u16[i] > 0) this.u16[i]--;
    this.u32[slot * SLOT_U32 + F_LAST_SEEN] = this.clockS;
  }

  // ---- operator and policy actions ----------------------------------------------------------

  terminate(slot: number, reason: string): void {
    const s = this.u8[slot * SLOT + F_STATE];
    if (s === FREE || s === TERMINATED || s === KILLED) return;
    this.setState(slot, TERMINATED);
    this.setReason(slot, reason);
    if (this.bus) this.emit('terminated', this.ids[slot], this.now(), reason);
    this.fireEnd(slot, 'session_terminated');
  }

  /** Kills a session, or an unknown ID in advance. Idempotent: killing a killed session changes nothing. */
  kill(id: string, reason = 'operator'): SessionView {
    assertId(id);
    const nowMs = this.now();
    let slot = this.index.get(id);
    if (slot === undefined) {
      slot = this.alloc(id, KILLED, toS(nowMs));
    } else if (this.u8[slot * SLOT + F_STATE] === KILLED) {
      return this.view(slot);
    } else {
      this.setState(slot, KILLED);
    }
    this.setReason(slot, reason);
    if (this.bus) this.emit('killed', id, nowMs, reason);
    this.fireEnd(slot, 'session_killed');
    return this.view(slot);
  }

  /**
   * Lets a killed or terminated session proceed again. Idempotent. An unknown ID has nothing to
   * resume: the answer says `active` (it would be let through) and nothing is created.
   */
  resume(id: string): SessionView {
    assertId(id);
    const slot = this.index.get(id);
    if (slot === undefined) return this.phantom(id);
    const s = this.u8[slot * SLOT + F_STATE];
    if (s === KILLED || s === TERMINATED) {
      this.setState(slot, ACTIVE);
      this.reasons?.delete(slot);
      if (this.bus) this.emit('resumed', id, this.now());
    }
    return this.view(slot);
  }

  /**
   * Kills and terminates restored from storage at start (`store.loadKills()`): no events, no
   * onEnd (nothing is in flight yet). Returns how many were taken.
   */
  loadKills(entries: Iterable<KillEntry>): number {
    let n = 0;
    const nowMs = this.now();
    for (const e of entries) {
      if (!validSessionId(e.id)) continue;
      const state = e.state === 'terminated' ? TERMINATED : KILLED;
      const at = toS(e.at ?? nowMs);
      const slot = this.index.get(e.id);
      if (slot === undefined) {
        this.alloc(e.id, state, at);
      } else if (this.u8[slot * SLOT + F_STATE] !== state) {
        this.setState(slot, state);
      }
      n++;
    }
    return n;
  }

  onEnd(fn: (slot: number, reason: EndReason) => void): void {
    this.endListeners.push(fn);
  }

  // ---- reads ----------------------------------------------------------------------------------

  get(id: string): SessionView | undefined {
    const slot = this.index.get(id);
    return slot === undefined ? undefined : this.view(slot);
  }

  /** The slot of a live session, or -1. */
  slotOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  stateOf(slot: number): SessionStateName {
    return STATE_NAMES[this.u8[slot * SLOT + F_STATE]];
  }

  list(q: SessionListQuery): SessionPage {
    let from = 0;
    if (q.cursor !== undefined && q.cursor !== '') from = decodeCursor(q.cursor);
    const want = q.state === undefined ? -1 : (STATE_CODES[q.state] ?? FREE);
    const sessions: SessionView[] = [];
    if (want === FREE) return { sessions, next_cursor: null }; // completed sessions live in storage
    let i = from;
    for (; i < this.hwm && sessions.length < q.limit; i++) {
      const s = this.u8[i * SLOT + F_STATE];
      if (s === FREE || (want !== -1 && s !== want)) continue;
      sessions.push(this.view(i));
    }
    // a next page exists if any matching slot remains after i
    let more = false;
    for (let j = i; j < this.hwm; j++) {
      const s = this.u8[j * SLOT + F_STATE];
      if (s !== FREE && (want === -1 || s === want)) { more = true; break; }
    }
    return { sessions, next_cursor: more ? encodeCursor(i) : null };
  }

  stats(): SessionCounts {
    return { active: this.counts[ACTIVE], total: this.totalSeen, killed: this.counts[KILLED] };
  }

  /** Live sessions per state. */
  countsByState(): Record<'active' | 'idle' | 'killed' | 'terminated', number> {
    const c = this.counts;
    return { active: c[ACTIVE], idle: c[IDLE], killed: c[KILLED], terminated: c[TERMINATED] };
  }

  size(): number {
    return this.live();
  }

  capacity(): number {
    return this.cap;
  }

  /**
   * The table's own accounting: typed arrays by byteLength, the slot → ID pointer array, the
   * Map's hash table (V8's OrderedHashMap: a bucket word per two entries and three words per entry,
   * capacity a power of two), the ID strings (16-byte header + one byte a char, 8-aligned) and
   * side maps. 64-bit pointers, as in Node's official builds (no pointer compression).
   */
  bytes(): number {
    const arrays = this.u8.byteLength;
    const idArray = 16 + this.ids.length * 8;
    let side = this.sideBytes;
    if (this.ipOther) side += mapBytes(this.ipOther.size);
    if (this.reasons) side += mapBytes(this.reasons.size);
    return arrays + idArray + mapBytes(this.index.size) + this.idBytes + side;
  }

  bytesPerSession(): number {
    const n = this.live();
    return n === 0 ? 0 : Math.round(this.bytes() / n);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /**
   * active → idle after idle_timeout without traffic; idle → completed after complete_after
   * more (slot freed, summary published). Both steps may happen in one pass. O(slots used).
   */
  sweep(nowMs: number): { idled: number; completed: number } {
    return this.sweepRange(0, this.hwm, nowMs);
  }

  private sweepRange(from: number, to: number, nowMs: number): { idled: number; completed: number } {
    const nowS = toS(nowMs);
    this.clockS = nowS;
    const idleS = this.idleS;
    const doneS = this.idleS + this.completeS;
    let idled = 0;
    let completed = 0;
    const end = Math.min(to, this.hwm);
    for (let i = from; i < end; i++) {
      const s = this.u8[i * SLOT + F_STATE];
      if (s !== ACTIVE && s !== IDLE) continue;
      if (this.u16[i * SLOT_U16 + F_INFLIGHT] !== 0) continue; // a long request is still running
      const silent = nowS - this.u32[i * SLOT_U32 + F_LAST_SEEN];
      if (s === ACTIVE && silent >= idleS) {
        this.setState(i, IDLE);
        idled++;
        if (this.bus) this.emit('idle', this.ids[i], nowMs);
      }
      if (silent >= doneS) {
        this.complete(i, nowMs, undefined);
        completed++;
      }
    }
    return { idled, completed };
  }

  /** Frees up to n idle sessions, least recently seen first (memory pressure). Returns how many. */
  evictIdle(n: number, nowMs = this.now()): number {
    if (n <= 0 || this.counts[IDLE] === 0) return 0;
    const idle = new Uint32Array(this.counts[IDLE]);
    let k = 0;
    for (let i = 0; i < this.hwm && k < idle.length; i++) if (this.u8[i * SLOT + F_STATE] === IDLE) idle[k++] = this.u32[i * SLOT_U32 + F_LAST_SEEN];
    idle.sort();
    const threshold = idle[Math.min(n, k) - 1];
    let freed = 0;
    for (let i = 0; i < this.hwm && freed < n; i++) {
      if (this.u8[i * SLOT + F_STATE] === IDLE && this.u32[i * SLOT_U32 + F_LAST_SEEN] <= threshold) {
        this.complete(i, nowMs, 'evicted');
        freed++;
      }
    }
    return freed;
  }

  /**
   * Sweeps every sweep interval on an unref-ed timer. A pass goes SWEEP_CHUNK slots at a time with
   * setImmediate in between, so a million sessions never stall the event loop for one whole scan.
   */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.beginPass(), this.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.passTimer) clearImmediate(this.passTimer);
    this.passTimer = undefined;
    this.passAt = -1;
  }

  private beginPass(): void {
    if (this.passAt >= 0) return; // the last pass is still going
    this.passAt = 0;
    this.passStep();
  }

  private passStep(): void {
    this.passTimer = undefined;
    const from = this.passAt;
    if (from < 0) return;
    this.sweepRange(from, from + SWEEP_CHUNK, this.now());
    if (from + SWEEP_CHUNK >= this.hwm) {
      this.passAt = -1;
      return;
    }
    this.passAt = from + SWEEP_CHUNK;
    this.passTimer = setImmediate(() => this.passStep());
    this.passTimer.unref();
  }

  // ---- internals ------------------------------------------------------------------------------

  private live(): number {
    const c = this.counts;
    return c[ACTIVE] + c[IDLE] + c[KILLED] + c[TERMINATED];
  }

  private alloc(id: string, state: number, nowS: number): number {
    let slot: number;
    if (this.freeHead >= 0) {
      slot = this.freeHead;
      this.freeHead = this.u32[slot * SLOT_U32 + F_REQUESTS] - 1;
    } else {
      if (this.hwm === this.cap) this.grow();
      slot = this.hwm++;
    }
    const flat = flatten(id);
    this.ids[slot] = flat;
    this.index.set(flat, slot);
    this.idBytes += stringBytes(flat.length);
    this.u8[slot * SLOT + F_STATE] = state;
    this.counts[state]++;
    this.u8[slot * SLOT + F_META] = 0;
    this.u16[slot * SLOT_U16 + F_UPSTREAM] = NO_UPSTREAM;
    this.u32[slot * SLOT_U32 + F_STARTED] = nowS;
    this.u32[slot * SLOT_U32 + F_LAST_SEEN] = nowS;
    this.u32[slot * SLOT_U32 + F_REQUESTS] = 0;
    this.u32[slot * SLOT_U32 + F_FLAGS] = 0;
    this.u32[slot * SLOT_U32 + F_IPV4] = 0;
    this.f64[slot * SLOT_F64 + F_BYTES_IN] = 0;
    this.f64[slot * SLOT_F64 + F_BYTES_OUT] = 0;
    this.u16[slot * SLOT_U16 + F_RATE_WINDOW] = Math.floor(nowS / RATE_WINDOW_S) & U16_MAX;
    this.u16[slot * SLOT_U16 + F_RATE_NOW] = state === ACTIVE ? 1 : 0;
    this.u16[slot * SLOT_U16 + F_RATE_LAST] = 0;
    this.u16[slot * SLOT_U16 + F_INFLIGHT] = 0;
    return slot;
  }

  private complete(slot: number, nowMs: number, reason: string | undefined): void {
    const id = this.ids[slot];
    if (this.bus) {
      const ev: SessionEvent = { kind: 'session', type: 'completed', session_id: id, at: nowMs, summary: this.summary(slot) };
      if (reason !== undefined) ev.reason = reason;
      this.bus.publish(ev);
    }
    this.free(slot);
  }

  private free(slot: number): void {
    const id = this.ids[slot];
    this.index.delete(id);
    this.idBytes -= stringBytes(id.length);
    this.ids[slot] = '';
    if (this.u8[slot * SLOT + F_META] & IP_OTHER) {
      const ip = this.ipOther!.get(slot);
      if (ip !== undefined) this.sideBytes -= stringBytes(ip.length);
      this.ipOther!.delete(slot);
    }
    this.reasons?.delete(slot);
    this.counts[this.u8[slot * SLOT + F_STATE]]--;
    this.u8[slot * SLOT + F_STATE] = FREE;
    this.u8[slot * SLOT + F_META] = 0;
    this.u32[slot * SLOT_U32 + F_REQUESTS] = this.freeHead + 1;
    this.freeHead = slot;
  }

  private setState(slot: number, state: number): void {
    this.counts[this.u8[slot * SLOT + F_STATE]]--;
    this.counts[state]++;
    this.u8[slot * SLOT + F_STATE] = state;
  }

  private setReason(slot: number, reason: string): void {
    (this.reasons ??= new Map()).set(slot, reason);
  }

  private setIp(slot: number, ip: string): void {
    if (ip === '') return;
    let v4 = ip;
    let mapped = 0;
    if (ip.length > 7 && ip.charCodeAt(0) === 58 /* : */ && ip.startsWith('::ffff:')) {
      v4 = ip.slice(7);
      mapped = IP_MAPPED;
    }
    const n = parseIpv4(v4);
    if (n >= 0) {
      this.u32[slot * SLOT_U32 + F_IPV4] = n;
      this.u8[slot * SLOT + F_META] |= IP_V4 | mapped;
      return;
    }
    const flat = flatten(ip);
    (this.ipOther ??= new Map()).set(slot, flat);
    this.sideBytes += stringBytes(flat.length);
    this.u8[slot * SLOT + F_META] |= IP_OTHER;
  }

  private ipOf(slot: number): string | null {
    const m = this.u8[slot * SLOT + F_META];
    if (m & IP_V4) {
      const n = this.u32[slot * SLOT_U32 + F_IPV4];
      const s = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
      return m & IP_MAPPED ? '::ffff:' + s : s;
    }
    if (m & IP_OTHER) return this.ipOther?.get(slot) ?? null;
    return null;
  }

  private view(slot: number): SessionView {
    const u = this.u16[slot * SLOT_U16 + F_UPSTREAM];
    const v: SessionView = {
      id: this.ids[slot],
      state: STATE_NAMES[this.u8[slot * SLOT + F_STATE]],
      upstream: u === NO_UPSTREAM ? null : (this.upstreams[u] ?? null),
      client_ip: this.ipOf(slot),
      started_at: new Date((this.u32[slot * SLOT_U32 + F_STARTED] + EPOCH_S) * 1000).toISOString(),
      last_seen_at: new Date((this.u32[slot * SLOT_U32 + F_LAST_SEEN] + EPOCH_S) * 1000).toISOString(),
      requests: this.u32[slot * SLOT_U32 + F_REQUESTS],
      bytes_in: this.f64[slot * SLOT_F64 + F_BYTES_IN],
      bytes_out: this.f64[slot * SLOT_F64 + F_BYTES_OUT],
      flags: this.u32[slot * SLOT_U32 + F_FLAGS],
    };
    const r = this.reasons?.get(slot);
    if (r !== undefined) v.reason = r;
    return v;
  }

  private phantom(id: string): SessionView {
    const at = new Date(this.now()).toISOString();
    return { id, state: 'active', upstream: null, client_ip: null, started_at: at, last_seen_at: at, requests: 0, bytes_in: 0, bytes_out: 0, flags: 0 };
  }

  private summary(slot: number): SessionSummary {
    const u = this.u16[slot * SLOT_U16 + F_UPSTREAM];
    return {
      id: this.ids[slot],
      state: 'completed',
      upstream: u === NO_UPSTREAM ? null : (this.upstreams[u] ?? null),
      client_ip: this.ipOf(slot),
      started_at: (this.u32[slot * SLOT_U32 + F_STARTED] + EPOCH_S) * 1000,
      last_seen_at: (this.u32[slot * SLOT_U32 + F_LAST_SEEN] + EPOCH_S) * 1000,
      requests: this.u32[slot * SLOT_U32 + F_REQUESTS],
      bytes_in: this.f64[slot * SLOT_F64 + F_BYTES_IN],
      bytes_out: this.f64[slot * SLOT_F64 + F_BYTES_OUT],
      flags: this.u32[slot * SLOT_U32 + F_FLAGS],
    };
  }

  private emit(type: SessionEvent['type'], id: string, at: number, reason?: string): void {
    const ev: SessionEvent = { kind: 'session', type, session_id: id, at };
    if (reason !== undefined) ev.reason = reason;
    this.bus!.publish(ev);
  }

  private fireEnd(slot: number, reason: EndReason): void {
    for (const fn of this.endListeners) {
      try {
        fn(slot, reason);
      } catch {
        // a listener's failure must not stop the others from aborting their work
      }
    }
  }

  private setBuffer(buf: ArrayBuffer): void {
    this.u8 = new Uint8Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  private grow(): void {
    const cap = this.cap * 2;
    const old = this.u8;
    this.setBuffer(new ArrayBuffer(cap * SLOT));
    this.u8.set(old);
    const ids = new Array<string>(cap).fill('');
    for (let i = 0; i < this.hwm; i++) ids[i] = this.ids[i];
    this.ids = ids;
    this.cap = cap;
  }
}

function toS(ms: number): number {
  const s = Math.floor(ms / 1000) - EPOCH_S;
  return s < 0 ? 0 : s > 0xffffffff ? 0xffffffff : s;
}

function assertId(id: string): void {
  if (!validSessionId(id)) throw new TypeError('invalid session id');
}

// A cursor is the next slot to look at: slots never move, so a session that lives through the
// whole paging is listed exactly once, whatever is inserted meanwhile.
function encodeCursor(slot: number): string {
  return 's' + slot.toString(36);
}
function decodeCursor(c: string): number {
  if (!/^s[0-9a-z]{1,7}$/.test(c)) throw new BadCursorError('cursor is not one this server gave out');
  return parseInt(c.slice(1), 36);
}

