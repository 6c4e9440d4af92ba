// What the proxy sees of tracing. The OpenTelemetry SDK sits behind this interface and is loaded
// only when `telemetry` is configured (src/telemetry/index.ts), so a gateway without it never pays
// for the SDK's modules; these imports are types only.
import type { Span } from '@opentelemetry/api';

export type { Span };

export interface TracingCounts {
  /** spans handed to the exporter's queue and not yet through an export */
  queued: number;
  /** spans dropped because the queue was full (a slow or absent collector) */
  dropped: number;
  exported: number;
  /** spans in exports the collector refused or that failed or timed out */
  failed: number;
}

export interface Tracing {
  /**
   * A recording span, continuing the incoming `traceparent` when there is one, or null when the
   * request is not sampled (then nothing more is done for it). `startMs` is a performance.now().
   */
  startSpan(name: string, traceparent: string | undefined, tracestate: string | undefined, startMs: number): Span | null;
  readonly counts: Readonly<TracingCounts>;
  /** bytes the queue holds, estimated per span (memory accounting) */
  bytes(): number;
  /** exports what is queued, within the export timeout */
  shutdown(): Promise<void>;
}

/** The W3C `traceparent` naming `span` as the parent, for the request sent upstream. */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1) === 1 ? '01' : '00'}`;
}
