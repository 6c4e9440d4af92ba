// Overload actions on streams, after Envoy's overload manager: at warning every stream's limit drops
// (limits.stream_buffer → 16KiB), so paused streams hold less; at critical the streams whose accounts
// hold the most are reset first (reset_high_memory_stream) until RSS should be back under the line.
import type { PressureActions } from './actions.js';
import type { MemoryGovernor } from './governor.js';
import type { StreamAccounts } from './streams.js';
import type { MemoryLog } from './types.js';

/** A stream holding less than this is not worth a reset: it is not what filled memory. */
export const MIN_RESET_BYTES = 4 * 1024;
/**
 * RSS a stream costs beyond its account (its sockets, the exchange, undici's request): what a reset
 * frees on top of the buffers. bench:memory measured 16.5-18.5KB per open SSE stream, both legs.
 */
export const STREAM_OVERHEAD_BYTES = 16 * 1024;
/**
 * RSS lags a reset: the freed buffers go at the next collection and malloc_trim (memory/shrink-heap).
 * Bytes reset within this window are credited, so that later samples do not reset again for them.
 */
export const RESET_CREDIT_MS = 2_000;
/**
 * At warning, an upload whose client sent nothing for this long is reset: like an idle keep-alive, it
 * holds memory (its body so far, read whole for the policy) while doing nothing; a slowloris upload
 * would otherwise keep it until timeouts.body. So is one that waited this long for room in the upload
 * budget (proxy/uploads.ts): it is told to come back (503 overloaded, Retry-After).
 */
export const STALLED_UPLOAD_MS = 3_000;

export class StreamResetter {
  private credit = 0;
  private creditUntil = 0;
  /** streams and bytes reset so far (all reasons) */
  streams = 0;
  bytes = 0;

  constructor(
    private readonly governor: MemoryGovernor,
    private readonly accounts: StreamAccounts,
    private readonly log: MemoryLog,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One pass at a critical sample: reset the largest accounts until RSS should be below the exit line. */
  tick(): number {
    const g = this.governor;
    const t = this.now();
    if (t > this.creditUntil) this.credit = 0;
    const line = (g.critical - g.hysteresis) * g.limitBytes;
    const need = g.rssBytes - line - this.credit;
    if (need <= 0) return 0;
    const r = this.accounts.resetLargest(need, MIN_RESET_BYTES);
    if (r.streams === 0) return 0;
    const freed = r.bytes + r.streams * STREAM_OVERHEAD_BYTES;
    this.credit += freed;
    this.creditUntil = t + RESET_CREDIT_MS;
    this.streams += r.streams;
    this.bytes += r.bytes;
    this.log.warn({ reason: 'memory_critical', streams: r.streams, buffered_bytes: r.bytes, rss_bytes: g.rssBytes, need_bytes: Math.round(need) },
      `memory critical: reset ${r.streams} stream(s) holding the most`);
    return r.streams;
  }
}

/** Adds the stream actions to the ladder: lower the limit at warning, reset the largest at critical. */
export function addStreamActions(actions: PressureActions, governor: MemoryGovernor, accounts: StreamAccounts, log: MemoryLog): StreamResetter {
  actions.add('lower_stream_limit', {
    level: 'warning',
    enter: () => accounts.setPressured(true),
    leave: () => accounts.setPressured(false),
  });
  actions.add('reset_stalled_uploads', {
    level: 'warning',
    tick: () => {
      // whatever it holds: a stalled or waiting upload keeps a connection and its state (~20-40 KB)
      const r = accounts.resetStalled(STALLED_UPLOAD_MS, 0);
      if (r.streams > 0) log.warn({ reason: 'stalled_upload', streams: r.streams, buffered_bytes: r.bytes }, `memory warning: reset ${r.streams} stalled upload(s)`);
    },
  });
  const resetter = new StreamResetter(governor, accounts, log);
  actions.add('reset_high_memory_streams', {
    level: 'critical',
    enter: () => { resetter.tick(); },
    tick: () => { resetter.tick(); },
  });
  return resetter;
}
