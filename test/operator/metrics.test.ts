import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { Metrics, registerMetricsRoute } from '../../src/control/metrics.js';
import { Router } from '../../src/control/router.js';
import { EventBus } from '../../src/events.js';
import { ERR, metricReason, type ProxyError } from '../../src/errors/index.js';

function line(text: string, prefix: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(prefix + ' ') || l === prefix);
}
function valueOf(text: string, series: string): number | undefined {
  const l = text.split('\n').find((x) => x.startsWith(series + ' '));
  return l === undefined ? undefined : Number(l.slice(series.length + 1));
}

describe('Metrics', () => {
  it('counts requests by code, class and upstream, with `none` for gateway answers', async () => {
    const m = new Metrics({ upstreams: ['http://a:1', 'http://b:2'], processMetrics: false });
    m.requestDone(200, 0, 0.2, 30);
    m.requestDone(200, 0, 0.3, 40);
    m.requestDone(502, 1, 0.1, 5);
    m.requestDone(403, -1, 0.05, -1);
    const t = await m.scrape();
    expect(valueOf(t, 'cordon_requests_total{code="200",class="2xx",upstream="http://a:1"}')).toBe(2);
    expect(valueOf(t, 'cordon_requests_total{code="502",class="5xx",upstream="http://b:2"}')).toBe(1);
    expect(valueOf(t, 'cordon_requests_total{code="403",class="4xx",upstream="none"}')).toBe(1);
    expect(t).toContain('# TYPE cordon_requests_total counter');
  });

  it('keeps added latency apart from upstream time, as cumulative histograms', async () => {
    const m = new Metrics({ upstreams: ['u0'], processMetrics: false });
    m.requestDone(200, 0, 0.05, 20); // 50us added, 20ms upstream
    m.requestDone(200, 0, 2, 700); // 2ms added, 700ms upstream
    m.requestDone(403, -1, 0.3, -1); // no upstream time at all
    const t = await m.scrape();
    expect(t).toContain('# TYPE cordon_request_added_latency_seconds histogram');
    expect(valueOf(t, 'cordon_request_added_latency_seconds_bucket{le="0.0001"}')).toBe(1);
    expect(valueOf(t, 'cordon_request_added_latency_seconds_bucket{le="0.0025"}')).toBe(3);
    expect(valueOf(t, 'cordon_request_added_latency_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(valueOf(t, 'cordon_request_added_latency_seconds_count')).toBe(3);
    expect(valueOf(t, 'cordon_request_added_latency_seconds_sum')).toBeCloseTo(0.00235, 8);
    expect(valueOf(t, 'cordon_upstream_latency_seconds_bucket{upstream="u0",le="0.025"}')).toBe(1);
    expect(valueOf(t, 'cordon_upstream_latency_seconds_bucket{upstream="u0",le="1"}')).toBe(2);
    expect(valueOf(t, 'cordon_upstream_latency_seconds_count{upstream="u0"}')).toBe(2);
    expect(t).not.toContain('cordon_upstream_latency_seconds_count{upstream="none"}');
  });

  it('counts policy hits by rule and action, and caps the number of rule labels', async () => {
    const m = new Metrics({ processMetrics: false, maxRules: 3 });
    m.policyHit('pii', 'flag');
    m.policyHit('pii', 'flag');
    m.policyHit('jailbreak', 'block');
    m.policyHit('exfil', 'terminate');
    for (let i = 0; i < 100; i++) m.policyHit(`r${i}`, 'flag');
    const t = await m.scrape();
    expect(valueOf(t, 'cordon_policy_hits_total{rule="pii",action="flag"}')).toBe(2);
    expect(valueOf(t, 'cordon_policy_hits_total{rule="jailbreak",action="block"}')).toBe(1);
    expect(valueOf(t, 'cordon_policy_hits_total{rule="exfil",action="terminate"}')).toBe(1);
    expect(valueOf(t, 'cordon_policy_hits_total{rule="_other",action="flag"}')).toBe(100);
    expect(t.split('\n').filter((l) => l.startsWith('cordon_policy_hits_total{')).length).toBe(4);
  });

  it('counts kills by source and rejections by SPEC error type', async () => {
    const m = new Metrics({ processMetrics: false });
    m.kill();
    m.kill('rule');
    m.kill('operator');
    m.rejected('overloaded');
    m.rejected('rate_limited');
    m.rejected('rate_limited');
    const t = await m.scrape();
    expect(valueOf(t, 'cordon_kills_total{source="operator"}')).toBe(2);
    expect(valueOf(t, 'cordon_kills_total{source="rule"}')).toBe(1);
    expect(valueOf(t, 'cordon_rejections_total{type="rate_limited"}')).toBe(2);
    expect(valueOf(t, 'cordon_rejections_total{type="overloaded"}')).toBe(1);
  });

  it('counts every refusal of the catalog under its type (a new type needs no change here)', async () => {
    const m = new Metrics({ processMetrics: false });
    const errs = Object.values(ERR).map((make) => (make as (a: string, b: number) => ProxyError)('x', 1));
    for (const e of errs) m.rejected(metricReason(e));
    const t = await m.scrape();
    for (const type of new Set(errs.map((e) => e.type))) {
      expect(valueOf(t, `cordon_rejections_total{type="${type}"}`), type).toBe(errs.filter((e) => e.type === type).length);
    }
  });

  it('reads gauges from the parts at scrape time, and skips a getter that throws', async () => {
    const m = new Metrics({ upstreams: ['a', 'b'], processMetrics: false });
    let sessions = 5;
    let pressure: 'normal' | 'warning' | 'critical' = 'normal';
    m.bind({
      sessionsActive: () => sessions,
      sessionsByState: () => ({ active: sessions, killed: 2 }),
      streamsActive: () => { throw new Error('not ready'); },
      memory: () => ({ pressure, rss_bytes: 1000, limit_bytes: 4000, components: { sessions: { bytes: 300, count: 5 }, buffers: { bytes: 64 }, unattributed: { bytes: 636 } } }),
      storageQueueDepth: () => 7,
      storageDropped: () => 3,
      upstreamHealthy: () => [true, false],
      fleet: () => ({ mode: 'redis', connected: false, instances: 2 }),
    });
    let t = await m.scrape();
    expect(valueOf(t, 'cordon_sessions_active')).toBe(5);
    expect(valueOf(t, 'cordon_sessions{state="killed"}')).toBe(2);
    expect(line(t, 'cordon_streams_active')).toBeUndefined();
    expect(valueOf(t, 'cordon_memory_bytes{component="sessions"}')).toBe(300);
    expect(valueOf(t, 'cordon_memory_bytes{component="unattributed"}')).toBe(636);
    expect(valueOf(t, 'cordon_memory_pressure{level="normal"}')).toBe(1);
    expect(valueOf(t, 'cordon_memory_pressure{level="critical"}')).toBe(0);
    expect(valueOf(t, 'cordon_memory_pressure_level')).toBe(0);
    expect(valueOf(t, 'cordon_storage_queue_depth')).toBe(7);
    expect(valueOf(t, 'cordon_storage_dropped_total')).toBe(3);
    expect(t).toContain('# TYPE cordon_storage_dropped_total counter');
    expect(valueOf(t, 'cordon_upstream_healthy{upstream="a"}')).toBe(1);
    expect(valueOf(t, 'cordon_upstream_healthy{upstream="b"}')).toBe(0);
    expect(valueOf(t, 'cordon_fleet_connected')).toBe(0);
    expect(valueOf(t, 'cordon_fleet_mode{mode="redis"}')).toBe(1);
    sessions = 100_000;
    pressure = 'critical';
    t = await m.scrape();
    expect(valueOf(t, 'cordon_sessions_active')).toBe(100_000);
    expect(valueOf(t, 'cordon_memory_pressure{level="critical"}')).toBe(1);
    expect(valueOf(t, 'cordon_memory_pressure{level="normal"}')).toBe(0);
    expect(valueOf(t, 'cordon_memory_pressure_level')).toBe(2);
  });

  it('counts kills and session events from the bus, and not policy hits twice', async () => {
    const m = new Metrics({ processMetrics: false });
    const bus = new EventBus();
    const off = m.attachBus(bus);
    bus.publish({ kind: 'session', type: 'started', session_id: 's1', at: 1 });
    bus.publish({ kind: 'session', type: 'killed', session_id: 's1', at: 2 });
    bus.publish({ kind: 'session', type: 'killed', session_id: 's2', at: 2, reason: 'fleet' });
    bus.publish({ kind: 'session', type: 'terminated', session_id: 's3', at: 3 });
    bus.publish({ kind: 'policy', id: 'e', session_id: 's3', rule: 'r', severity: 'high', action: 'terminate', direction: 'request', excerpt: '', at: 3 });
    off();
    bus.publish({ kind: 'session', type: 'killed', session_id: 's4', at: 4 });
    const t = await m.scrape();
    expect(valueOf(t, 'cordon_kills_total{source="operator"}')).toBe(1);
    expect(valueOf(t, 'cordon_kills_total{source="fleet"}')).toBe(1);
    expect(valueOf(t, 'cordon_kills_total{source="rule"}')).toBe(1);
    expect(valueOf(t, 'cordon_session_events_total{type="started"}')).toBe(1);
    expect(valueOf(t, 'cordon_session_events_total{type="killed"}')).toBe(2);
    expect(t).not.toContain('cordon_policy_hits_total{');
  });

  it('uses its own registry: two instances do not collide and the global one stays empty', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.kill();
    expect(await b.scrape()).not.toContain('cordon_kills_total{');
    expect(await a.scrape()).toContain('cordon_process_resident_memory_bytes');
    expect(await globalRegistry.metrics()).not.toContain('cordon_');
  });

  it('every metric name is prefixed cordon_', async () => {
    const m = new Metrics({ upstreams: ['a'] });
    m.requestDone(200, 0, 1, 1);
    m.bind({ sessionsActive: () => 1, memory: () => ({ pressure: 'normal', components: { sessions: { bytes: 1 } } }) });
    const names = (await m.scrape()).split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) expect(n).toMatch(/^cordon_/);
  });
});

describe('GET /metrics', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('answers the Prometheus text format', async () => {
    const m = new Metrics({ processMetrics: false });
    m.kill();
    const router = new Router();
    registerMetricsRoute(router, m);
    server = createServer((req, res) => void router.handle(req, res, new URL(req.url ?? '/', 'http://x')));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toContain('cordon_kills_total{source="operator"} 1');
  });
});
