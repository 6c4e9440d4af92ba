import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerMemoryRoutes } from '../../src/control/routes/memory.js';
import { Router } from '../../src/control/router.js';
import { StreamAccounts } from '../../src/memory/streams.js';
import { FakeStream } from './fake-streams.js';
import { MemoryGovernor } from '../../src/memory/governor.js';
import { registerMemoryMetrics } from '../../src/memory/metrics.js';
import { Registry } from 'prom-client';
import { FakeMemory, MiB } from './fakes.js';

const mem = new FakeMemory();
const g = new MemoryGovernor({ limitBytes: 128 * MiB, sampler: mem.sampler, now: mem.now, baselineBytes: 40 * MiB });
const streams = new StreamAccounts(64 * 1024);
g.register('buffers', streams);
g.register('sessions', { bytes: () => 300_000, count: () => 1500 });
const registry = new Registry();
registerMemoryMetrics(registry, g, streams);
let server: http.Server;
let base: string;

beforeAll(async () => {
  const router = new Router();
  registerMemoryRoutes(router, g, streams);
  server = http.createServer((req, res) => { void router.handle(req, res, new URL(req.url!, 'http://x')); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('GET /control/memory', () => {
  it('answers the SPEC shape with a fresh sample', async () => {
    const a = new FakeStream(1000, 'sse', 'alpha');
    const b = new FakeStream(3096, 'upload', 'beta');
    streams.add(a);
    streams.add(b);
    mem.rss = 125 * MiB;
    const res = await fetch(`${base}/control/memory`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = await res.json() as Record<string, any>;
    expect(body.limit_bytes).toBe(128 * MiB);
    expect(body.rss_bytes).toBe(125 * MiB);
    expect(body.pressure).toBe('critical');
    for (const name of ['sessions', 'buffers', 'scanners', 'captures', 'websockets', 'storage_queue', 'upstreams', 'unattributed']) {
      expect(typeof body.components[name].bytes, name).toBe('number');
    }
    expect(body.components.sessions).toEqual({ bytes: 300_000, count: 1500 });
    expect(body.components.buffers.bytes).toBe(4096);
    expect(body.components.buffers.count).toBe(2);
    expect(body.streams).toBeUndefined();
    const top = await (await fetch(`${base}/control/memory?top=1`)).json() as Record<string, any>;
    expect(top.streams).toHaveLength(1);
    expect(top.streams[0]).toMatchObject({ session_id: 'beta', kind: 'upload', buffered_bytes: 3096 });
    expect(typeof top.streams[0].age_ms).toBe('number');
    const all = await (await fetch(`${base}/control/memory?top=10`)).json() as Record<string, any>;
    expect(all.streams.map((r: { session_id: string }) => r.session_id)).toEqual(['beta', 'alpha']);
    streams.remove(a);
    streams.remove(b);
  });

  it('400 for a top that is not 1..1000', async () => {
    for (const q of ['0', '-1', 'x', '1001', '1.5', '']) {
      const res = await fetch(`${base}/control/memory?top=${q}`);
      expect(res.status, q).toBe(400);
      expect((await res.json() as { error: { code: string } }).error.code).toBe('invalid_top');
    }
  });

  it('405 for other methods', async () => {
    const res = await fetch(`${base}/control/memory`, { method: 'POST' });
    expect(res.status).toBe(405);
  });
});

describe('memory metrics', () => {
  it('exports heap, transitions, leak suspects and stream resets (the rest comes from control/metrics.ts)', async () => {
    mem.rss = 64 * MiB;
    g.sampleNow();
    const text = await registry.metrics();
    expect(text).toContain(`cordon_memory_heap_used_bytes ${10 * MiB}`);
    expect(text).toContain('cordon_memory_leak_suspects 0');
    expect(text).not.toContain('cordon_memory_rss_bytes'); // owned by control/metrics.ts
    expect(text).toContain('cordon_memory_pressure_transitions_total{to="critical"} 1');
    expect(text).toContain('cordon_memory_pressure_transitions_total{to="normal"} 1');
    expect(text).toContain('cordon_stream_buffer_limit_bytes 65536');
    expect(text).toContain('cordon_stream_resets_total{kind="sse",reason="memory_critical"} 0');
    const s = new FakeStream(10_000, 'sse');
    streams.add(s);
    streams.resetLargest(1, 0);
    expect(await registry.metrics()).toContain('cordon_stream_resets_total{kind="sse",reason="memory_critical"} 1');
  });
});
