// Session lifecycle: active → idle after idle_timeout without requests → completed (slot freed,
// a `completed` event with the summary published) after complete_after more; idle sessions evicted
// under memory pressure; the timer that sweeps. killed and terminated are sticky: sweep never
// touches them; only resume ends them (table.ts).
import type { SessionEvent } from '../events.js';
import { ACTIVE, F_INFLIGHT, F_LAST_SEEN, F_REQUESTS, F_STATE, FREE, IDLE, SLOT, SLOT_U16, SLOT_U32, toS } from './slot-layout.js';
import { SlotRecords } from './slot-records.js';
import type { SessionTableOptions } from './table-options.js';

// slots per step of a timer-driven sweep (~1ms of work per step)
const SWEEP_CHUNK = 65_536;

export abstract class SessionLifecycle extends SlotRecords {
  private readonly idleS: number;
  private readonly completeS: number;
  private readonly sweepMs: number;
  private timer: NodeJS.Timeout | undefined;
  private passTimer: NodeJS.Immediate | undefined;
  private passAt = -1; // next slot of a timer-driven sweep pass, -1 when none runs

  constructor(opts: SessionTableOptions) {
    super(opts);
    this.idleS = Math.max(1, Math.ceil(opts.idleTimeoutMs / 1000));
    this.completeS = Math.max(0, Math.ceil(opts.completeAfterMs / 1000));
    this.sweepMs = opts.sweepIntervalMs ?? Math.min(5_000, Math.max(250, Math.floor(opts.idleTimeoutMs / 4)));
  }

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
   * Shutdown: publishes the summary of every session that made requests in this run, with
   * `reason` (so storage records how it ended), and frees its slot. Kills restored or made in
   * advance with no traffic since are left alone (their kill is stored already). Returns how many.
   */
  endAll(nowMs: number, reason: string): number {
    let n = 0;
    for (let i = 0; i < this.hwm; i++) {
      if (this.u8[i * SLOT + F_STATE] === FREE || this.u32[i * SLOT_U32 + F_REQUESTS] === 0) continue;
      this.complete(i, nowMs, reason);
      n++;
    }
    return n;
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

  private complete(slot: number, nowMs: number, reason: string | undefined): void {
    const id = this.ids[slot];
    if (this.bus) {
      const ev: SessionEvent = { kind: 'session', type: 'completed', session_id: id, at: nowMs, summary: this.summary(slot) };
      if (reason !== undefined) ev.reason = reason;
      this.bus.publish(ev);
    }
    this.free(slot);
  }
}
