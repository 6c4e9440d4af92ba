// Tracing is built only when `telemetry` is configured: the SDK's modules are imported here, on
// demand, so that a gateway without it keeps its idle memory (the SDK and the OTLP exporter are a
// few MB of modules).
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Tracing } from './types.js';

export async function createTracing(cfg: Config): Promise<Tracing | null> {
  const t = cfg.telemetry;
  if (t === undefined) return null;
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const { createSdkTracing } = await import('./sdk.js');
  return createSdkTracing({
    url: t.otlp_endpoint, serviceName: t.service_name, serviceVersion: version, sample: t.sample,
    queueMax: t.queue_max, batchSize: t.batch_size, exportTimeoutMs: t.export_timeout, headers: t.headers,
  });
}

export type { Span, Tracing, TracingCounts } from './types.js';
export { traceparentOf } from './types.js';
