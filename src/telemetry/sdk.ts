// The OpenTelemetry SDK set up for cordon: one tracer, parent-based ratio sampling, a batching
// OTLP/HTTP (JSON) exporter. Loaded on demand by index.ts. The request path only ever hands a
// finished span to a queue: exports run on the SDK's timer, and a full queue drops the span and
// counts it, so a slow or absent collector never delays or fails a request.
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Context, type Span } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler,
  type ReadableSpan, type SpanExporter, type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Tracer } from '@opentelemetry/api';
import type { Tracing, TracingCounts } from './types.js';

export interface TracingOptions {
  /** the OTLP/HTTP traces URL (…/v1/traces) */
  url: string;
  serviceName: string;
  serviceVersion: string;
  sample: number;
  queueMax: number;
  batchSize: number;
  exportTimeoutMs: number;
  headers: Record<string, string>;
  /** how often a batch is sent when fewer than batchSize wait */
  scheduledDelayMs?: number;
}

/**
 * Bytes one finished span holds while queued (attributes, events, ids, timestamps); measured with
 * test/telemetry at ~1.4KB for a request span with a dozen attributes, rounded up.
 */
const SPAN_BYTES = 2048;

/** Counts spans into the batch processor and out through the exporter; refuses past queueMax. */
class CountingProcessor implements SpanProcessor {
  constructor(private readonly inner: SpanProcessor, private readonly counts: TracingCounts, private readonly max: number) {}
  onStart(span: Span & ReadableSpan, ctx: Context): void { this.inner.onStart(span as never, ctx); }
  onEnd(span: ReadableSpan): void {
    if (this.counts.queued >= this.max) {
      this.counts.dropped++;
      return;
    }
    this.counts.queued++;
    this.inner.onEnd(span);
  }
  forceFlush(): Promise<void> { return this.inner.forceFlush(); }
  shutdown(): Promise<void> { return this.inner.shutdown(); }
}

class CountingExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter, private readonly counts: TracingCounts) {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    let settled = false;
    this.inner.export(spans, (r) => {
      if (settled) return;
      settled = true;
      this.counts.queued -= spans.length;
      if (r.code === ExportResultCode.SUCCESS) this.counts.exported += spans.length;
      else this.counts.failed += spans.length;
      done(r);
    });
  }
  shutdown(): Promise<void> { return this.inner.shutdown(); }
  forceFlush(): Promise<void> { return this.inner.forceFlush?.() ?? Promise.resolve(); }
}

const propagator = new W3CTraceContextPropagator();
const carrierGetter = {
  keys: (c: Carrier) => Object.keys(c),
  get: (c: Carrier, key: string) => (key === 'traceparent' ? c.traceparent : key === 'tracestate' ? c.tracestate : undefined),
};
interface Carrier { traceparent: string | undefined; tracestate: string | undefined }

class SdkTracing implements Tracing {
  readonly counts: TracingCounts = { queued: 0, dropped: 0, exported: 0, failed: 0 };
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  /** sample 0: a request without a parent is never traced, decided before any SDK call */
  private readonly never: boolean;
  private readonly carrier: Carrier = { traceparent: undefined, tracestate: undefined };
  private readonly spanOptions = { kind: SpanKind.SERVER, startTime: 0 };

  constructor(o: TracingOptions) {
    const exporter = new CountingExporter(new OTLPTraceExporter({
      url: o.url, headers: o.headers, timeoutMillis: o.exportTimeoutMs, concurrencyLimit: 2,
    }), this.counts);
    const batch = new BatchSpanProcessor(exporter, {
      maxQueueSize: o.queueMax, maxExportBatchSize: Math.min(o.batchSize, o.queueMax),
      scheduledDelayMillis: o.scheduledDelayMs ?? 1000, exportTimeoutMillis: o.exportTimeoutMs,
    });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: o.serviceName, [ATTR_SERVICE_VERSION]: o.serviceVersion }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(o.sample) }),
      spanProcessors: [new CountingProcessor(batch, this.counts, o.queueMax)],
    });
    this.tracer = this.provider.getTracer('cordon', o.serviceVersion);
    this.never = o.sample === 0;
  }

  startSpan(name: string, traceparent: string | undefined, tracestate: string | undefined, startMs: number): Span | null {
    if (traceparent === undefined && this.never) return null;
    let parent: Context = ROOT_CONTEXT;
    if (traceparent !== undefined) {
      this.carrier.traceparent = traceparent;
      this.carrier.tracestate = tracestate;
      parent = propagator.extract(ROOT_CONTEXT, this.carrier, carrierGetter);
      this.carrier.traceparent = this.carrier.tracestate = undefined;
      // A parent that did not sample the trace is followed: nothing is recorded.
      const sc = trace.getSpanContext(parent);
      if (sc !== undefined && (sc.traceFlags & TraceFlags.SAMPLED) === 0) return null;
      if (sc === undefined && this.never) return null;
    }
    this.spanOptions.startTime = performance.timeOrigin + startMs;
    const span = this.tracer.startSpan(name, this.spanOptions, parent);
    return span.isRecording() ? span : null;
  }

  bytes(): number {
    return this.counts.queued * SPAN_BYTES;
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown().catch(() => undefined);
  }
}

export function createSdkTracing(o: TracingOptions): Tracing {
  return new SdkTracing(o);
}
