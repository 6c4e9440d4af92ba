// The storage under the session table: slots in one typed buffer (layout in slot-layout.ts), the
// ID of each slot and the ID → slot index, the side maps for rare data, per-state counts, and
// what turns a slot into a SessionView or a completed-session summary. SessionTable (table.ts)
// builds its public API on this through lifecycle.ts; nothing else uses it.
import type { EventBus, SessionEvent, SessionSummary } from '../events.js';
import type { SessionExtension, SessionView } from './types.js';
import { flatten, mapBytes, parseIpv4, stringBytes } from './compact.js';
import {
  ACTIVE, EPOCH_S, F_BYTES_IN, F_BYTES_OUT, F_FLAGS, F_INFLIGHT, F_IPV4, F_LAST_SEEN, F_META,
  F_RATE_LAST, F_RATE_NOW, F_RATE_WINDOW, F_REQUESTS, F_STARTED, F_STATE, F_UPSTREAM, FREE, IDLE, IP_MAPPED,
  IP_OTHER, IP_V4, KILLED, NO_UPSTREAM, RATE_WINDOW_S, SLOT, SLOT_F64, SLOT_U16, SLOT_U32, SPEND_FROM, SPEND_TO, STATE_NAMES,
  TERMINATED, U16_MAX, toS,
} from './slot-layout.js';
import type { SessionTableOptions } from './table-options.js';

export abstract class SlotRecords {
  protected cap: number;
  protected hwm = 0; // slots [0, hwm) have been used at least once
  private freeHead = -1;
  // four views of one buffer; see SLOT for the record layout
  protected u8!: Uint8Array;
  protected u16!: Uint16Array;
  protected u32!: Uint32Array;
  protected f64!: Float64Array;
  protected ids: string[];
  protected readonly index = new Map<string, number>();
  private ipOther: Map<number, string> | undefined;
  /** the spend part's view of a slot and its side tables (SessionExtension) */
  protected extension: SessionExtension | null = null;
  protected reasons: Map<number, string> | undefined;
  /** told of each slot as it is freed, so state kept by slot elsewhere (policy) goes with it */
  private readonly freeListeners: Array<(slot: number) => void> = [];

  protected readonly counts = new Uint32Array(5);
  protected totalSeen = 0;
  private idBytes = 0;
  private sideBytes = 0;
  protected clockS = 0;

  private readonly upstreams: readonly string[];
  protected readonly bus: EventBus | undefined;
  protected readonly max: number;
  protected readonly now: () => number;

  constructor(opts: SessionTableOptions) {
    this.upstreams = opts.upstreams;
    this.bus = opts.bus;
    this.max = opts.max ?? Number.MAX_SAFE_INTEGER;
    this.now = opts.now ?? Date.now;
    const cap = Math.max(16, opts.initialCapacity ?? 1024);
    this.cap = cap;
    this.setBuffer(new ArrayBuffer(cap * SLOT));
    this.ids = new Array<string>(cap).fill('');
    this.clockS = toS(this.now());
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

  // ---- internals ------------------------------------------------------------------------------

  protected live(): number {
    const c = this.counts;
    return c[ACTIVE] + c[IDLE] + c[KILLED] + c[TERMINATED];
  }

  protected alloc(id: string, state: number, nowS: number): number {
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
    this.u8.fill(0, slot * SLOT + SPEND_FROM, slot * SLOT + SPEND_TO);
    return slot;
  }


  protected free(slot: number): void {
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
    this.extension?.free(slot);
    for (let i = 0; i < this.freeListeners.length; i++) this.freeListeners[i](slot);
    this.counts[this.u8[slot * SLOT + F_STATE]]--;
    this.u8[slot * SLOT + F_STATE] = FREE;
    this.u8[slot * SLOT + F_META] = 0;
    this.u32[slot * SLOT_U32 + F_REQUESTS] = this.freeHead + 1;
    this.freeHead = slot;
  }

  /** `fn(slot)` runs as each slot is freed (completed, evicted), before it can be reused. */
  onFree(fn: (slot: number) => void): void {
    this.freeListeners.push(fn);
  }

  protected setState(slot: number, state: number): void {
    this.counts[this.u8[slot * SLOT + F_STATE]]--;
    this.counts[state]++;
    this.u8[slot * SLOT + F_STATE] = state;
  }

  protected setReason(slot: number, reason: string): void {
    (this.reasons ??= new Map()).set(slot, reason);
  }

  protected setIp(slot: number, ip: string): void {
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

  protected ipOf(slot: number): string | null {
    const m = this.u8[slot * SLOT + F_META];
    if (m & IP_V4) {
      const n = this.u32[slot * SLOT_U32 + F_IPV4];
      const s = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
      return m & IP_MAPPED ? '::ffff:' + s : s;
    }
    if (m & IP_OTHER) return this.ipOther?.get(slot) ?? null;
    return null;
  }

  protected view(slot: number): SessionView {
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
    this.extension?.view(slot, v);
    return v;
  }

  protected phantom(id: string): SessionView {
    const at = new Date(this.now()).toISOString();
    return { id, state: 'active', upstream: null, client_ip: null, started_at: at, last_seen_at: at, requests: 0, bytes_in: 0, bytes_out: 0, flags: 0 };
  }

  protected summary(slot: number): SessionSummary {
    const u = this.u16[slot * SLOT_U16 + F_UPSTREAM];
    const sum: SessionSummary = {
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
    this.extension?.view(slot, sum as unknown as SessionView);
    return sum;
  }

  protected emit(type: SessionEvent['type'], id: string, at: number, reason?: string, origin?: 'fleet'): void {
    const ev: SessionEvent = { kind: 'session', type, session_id: id, at };
    if (reason !== undefined) ev.reason = reason;
    if (origin !== undefined) ev.origin = origin;
    this.bus!.publish(ev);
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
