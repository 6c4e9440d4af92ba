// The session table: one slot per live session in typed arrays, plus one
// Map<string, slot>. A JS object per session with a few fields and an array of request times
// costs kilobytes; a slot here costs a 48-byte record in one typed buffer, an 8-byte pointer to the ID string,
// the string itself and one Map entry (~150B in all; bench/sessions.mjs measures it).
//
// Layout and rules:
// - The record layout is described at SLOT in slot-layout.ts.
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
//
// Files: slot-layout.ts (record layout, constants), slot-records.ts (slots, index, side maps,
// views), lifecycle.ts (sweep, evict, timer), list-cursor.ts (paging); this file the public API.
import {
  type EndReason,
  type SessionControl,
  type SessionExtension,
  type SessionCounts,
  type SessionListQuery,
  type SessionPage,
  type SessionStateName,
  type SessionView,
} from './types.js';
import { validSessionId } from './identity.js';
import { parseIpv4 } from './compact.js';
import { decodeCursor, encodeCursor } from './list-cursor.js';
import { SessionLifecycle } from './lifecycle.js';
import {
  ACTIVE, COUNTED, F_BYTES_IN, F_BYTES_OUT, F_FLAGS, F_INFLIGHT, F_LAST_SEEN, F_META, F_RATE_LAST, F_RATE_NOW,
  F_RATE_WINDOW, F_REQUESTS, F_STATE, F_UPSTREAM, FREE, IDLE, KILLED, NO_UPSTREAM, RATE_WINDOW_S, SLOT, SLOT_F64,
  SLOT_U16, SLOT_U32, STATE_CODES, STATE_NAMES, TERMINATED, U16_MAX, toS, EPOCH_S,
  F_AGENT, F_COST, F_MODEL, F_SPEND_META, F_TOKENS_IN, F_TOKENS_OUT, F_TOOL_CALLS, SPEND_ESTIMATED, SPEND_MORE_MODELS,
} from './slot-layout.js';

export { parseIpv4 };
export { EPOCH_S } from './slot-layout.js';
export type { SessionTableOptions } from './table-options.js';

export interface KillEntry {
  id: string;
  /** what storage kept: an operator's kill (default) or a rule's terminate */
  state?: 'killed' | 'terminated';
  /** epoch ms of the kill; now when absent */
  at?: number;
}

export class SessionTable extends SessionLifecycle implements SessionControl {
  private readonly endListeners: Array<(slot: number, reason: EndReason) => void> = [];

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

  // ---- spend fields (spend/ owns what they mean) ----------------------------------------

  agentOf(slot: number): number {
    return this.u16[slot * SLOT_U16 + F_AGENT];
  }

  setAgent(slot: number, agent: number): void {
    this.u16[slot * SLOT_U16 + F_AGENT] = agent;
  }

  addUsage(slot: number, tokensIn: number, tokensOut: number, costUsd: number, model: number, estimated: boolean, toolCalls: number): boolean {
    const i32 = slot * SLOT_U32;
    this.u32[i32 + F_TOKENS_IN] = Math.min(0xffffffff, this.u32[i32 + F_TOKENS_IN] + tokensIn);
    this.u32[i32 + F_TOKENS_OUT] = Math.min(0xffffffff, this.u32[i32 + F_TOKENS_OUT] + tokensOut);
    this.f64[slot * SLOT_F64 + F_COST] += costUsd;
    const i16 = slot * SLOT_U16;
    this.u16[i16 + F_TOOL_CALLS] = Math.min(U16_MAX, this.u16[i16 + F_TOOL_CALLS] + toolCalls);
    if (estimated) this.u16[i16 + F_SPEND_META] |= SPEND_ESTIMATED;
    if (model === 0) return false;
    const first = this.u16[i16 + F_MODEL];
    if (first === 0) { this.u16[i16 + F_MODEL] = model; return true; }
    if (first !== model) this.u16[i16 + F_SPEND_META] |= SPEND_MORE_MODELS;
    return false;
  }

  /** The spend fields of a slot, for views (SessionExtension) and budgets. */
  spendOf(slot: number): { agent: number; model: number; meta: number; tokensIn: number; tokensOut: number; cost: number; toolCalls: number } {
    const i16 = slot * SLOT_U16;
    return {
      agent: this.u16[i16 + F_AGENT], model: this.u16[i16 + F_MODEL], meta: this.u16[i16 + F_SPEND_META],
      tokensIn: this.u32[slot * SLOT_U32 + F_TOKENS_IN], tokensOut: this.u32[slot * SLOT_U32 + F_TOKENS_OUT],
      cost: this.f64[slot * SLOT_F64 + F_COST], toolCalls: this.u16[i16 + F_TOOL_CALLS],
    };
  }

  /** Session cost so far (USD). */
  costOf(slot: number): number {
    return this.f64[slot * SLOT_F64 + F_COST];
  }

  setExtension(ext: SessionExtension): void {
    this.extension = ext;
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

  terminate(slot: number, reason: string, origin?: 'fleet'): void {
    const s = this.u8[slot * SLOT + F_STATE];
    if (s === FREE || s === TERMINATED || s === KILLED) return;
    this.setState(slot, TERMINATED);
    this.setReason(slot, reason);
    if (this.bus) this.emit('terminated', this.ids[slot], this.now(), reason, origin);
    this.fireEnd(slot, 'session_terminated');
  }

  /** Kills a session, or an unknown ID in advance. Idempotent: killing a killed session changes nothing. */
  kill(id: string, reason = 'operator', origin?: 'fleet'): SessionView {
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
    if (this.bus) this.emit('killed', id, nowMs, reason, origin);
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
      if (this.bus) this.emit('resumed', id, this.now());
      // A kill made in advance and lifted before the session ever sent a request leaves nothing
      // behind: an entry with no traffic would count as active but never as seen.
      if (this.u32[slot * SLOT_U32 + F_REQUESTS] === 0 && this.u16[slot * SLOT_U16 + F_INFLIGHT] === 0) {
        this.free(slot);
        return this.phantom(id);
      }
      this.setState(slot, ACTIVE);
      this.reasons?.delete(slot);
    }
    return this.view(slot);
  }

  /**
   * Kills and terminates restored from storage at start (`store.loadKills()`): no events, no
   * onEnd (nothing is in flight yet). Returns how many were taken. A restored session counts as
   * seen (`counted`), so /control/stats never shows more killed than total after a restart; a
   * terminate learned from the fleet for an unknown ID passes false.
   */
  loadKills(entries: Iterable<KillEntry>, counted = true): number {
    let n = 0;
    const nowMs = this.now();
    for (const e of entries) {
      if (!validSessionId(e.id)) continue;
      const state = e.state === 'terminated' ? TERMINATED : KILLED;
      const at = toS(e.at ?? nowMs);
      const slot = this.index.get(e.id);
      if (slot === undefined) {
        const s = this.alloc(e.id, state, at);
        if (counted) {
          this.u8[s * SLOT + F_META] |= COUNTED;
          this.totalSeen++;
        }
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

  /**
   * Every live session's own totals, for the fleet to rebuild Redis counters after Redis came back
   * empty (FleetState.setTotalsSource). Tokens are not kept per slot, so they cannot be rebuilt.
   */
  *totals(): Generator<{ id: string; requests: number; bytes_in: number; bytes_out: number; tokens: number; last_seen_ms: number }> {
    for (let i = 0; i < this.hwm; i++) {
      if (this.u8[i * SLOT + F_STATE] === FREE) continue;
      yield {
        id: this.ids[i],
        requests: this.u32[i * SLOT_U32 + F_REQUESTS],
        bytes_in: this.f64[i * SLOT_F64 + F_BYTES_IN],
        bytes_out: this.f64[i * SLOT_F64 + F_BYTES_OUT],
        tokens: 0,
        last_seen_ms: (this.u32[i * SLOT_U32 + F_LAST_SEEN] + EPOCH_S) * 1000,
      };
    }
  }

  /** Calls fn for every live session (every state but free), in slot order. */
  forEachLive(fn: (slot: number, id: string, state: SessionStateName) => void): void {
    for (let i = 0; i < this.hwm; i++) {
      const s = this.u8[i * SLOT + F_STATE];
      if (s !== FREE) fn(i, this.ids[i], STATE_NAMES[s]);
    }
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

  // bytes(), the table's own accounting, is in slot-records.ts

  bytesPerSession(): number {
    const n = this.live();
    return n === 0 ? 0 : Math.round(this.bytes() / n);
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Ends a slot's in-flight work without changing its state (a kill by agent refuses the agent, not the session). */
  endWork(slot: number, reason: EndReason): void {
    this.fireEnd(slot, reason);
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
}

function assertId(id: string): void {
  if (!validSessionId(id)) throw new TypeError('invalid session id');
}
