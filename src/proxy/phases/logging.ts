// Phase "logging": the last step of every exchange, whatever its outcome: the request metrics
// and the access-log line.
import { createAccessLog, type AccessLog } from '../../log.js';
import type { ProxyContext } from '../context.js';

/** What the logging phase reads of a finished exchange (the Exchange itself fits). */
export interface Finished {
  readonly sessionId: string | null;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly upstreamIndex: number;
  readonly upstreamName: string | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** performance.now() marks; 0 when the step was not reached */
  readonly startedAt: number;
  readonly upstreamStartedAt: number;
  readonly upstreamHeadersAt: number;
}

export function logging(ctx: ProxyContext, x: Finished, outcome: string): void {
  const end = performance.now();
  // Added latency is the gateway's own time before dispatch; upstream time runs to its headers.
  ctx.observe(x.status, x.upstreamIndex,
    (x.upstreamStartedAt === 0 ? end : x.upstreamStartedAt) - x.startedAt,
    x.upstreamHeadersAt === 0 ? 0 : x.upstreamHeadersAt - x.upstreamStartedAt);
  if (ctx.accessLog) {
    accessLogFor(ctx)?.write(x.sessionId, x.method, x.url, x.status, x.upstreamName, x.bytesIn, x.bytesOut,
      Math.round((end - x.startedAt) * 100) / 100, outcome);
  }
}

// The access-log writer of the (usually only) context, made once rather than looked up per request.
let accessCtx: ProxyContext | null = null;
let accessWriter: AccessLog | null = null;
function accessLogFor(ctx: ProxyContext): AccessLog | null {
  if (ctx !== accessCtx) {
    accessCtx = ctx;
    accessWriter = createAccessLog(ctx.log);
  }
  return accessWriter;
}
