import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerMemoryRoutes } from '../../src/control/routes/memory.js';
import { Router } from '../../src/control/router.js';
import { BufferPool } from '../../src/memory/buffer-pool.js';
import { MemoryGovernor } from '../../src/memory/governor.js';
import { registerMemoryMetrics } from '../../src/memory/metrics.js';
import { Registry } from 'prom-client';
import { FakeMemory, MiB } from './fakes.js';

const mem = new FakeMemory();
const g = new MemoryGovernor({ limitBytes: 128 * MiB, sampler: mem.sampler, now: mem.now, baselineBytes: 40 * MiB });
const pool = new BufferPool();
g.register('buffers', pool);
g.register('sessions', { bytes: () => 300_000, count: () => 1500 });
const registry = new Registry();
registerMemoryMetrics(registry, g, pool);
let server: http.Server;
let base: string;

beforeAll(async () => {
  const router = new Router();
  registerMemoryRoutes(router, g);
  server = http.createServer((req, res) => { void router.handle(req, res, new URL(req.url!, 'http://x')); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('GET /control/memory', () => {
  it('answers the SPEC shape with a fresh sample', async () => {
    pool.release(pool.acquire(1000));
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
    expect(body.components.buffers.hit_rate).toBe(0);
    expect(body.components.buffers.bytes).toBe(4096);
  });

  it('405 for other methods', async () => {
    const res = await fetch(`${base}/control/memory`, { method: 'POST' });
    expect(res.status).toBe(405);
  });
});

describe('memory metrics', () => {
  it('exports heap, transitions, leak suspects and the pool (the rest comes from control/metrics.ts)', async () => {
    mem.rss = 64 * MiB;
    g.sampleNow();
    const text = await registry.metrics();
    expect(text).toContain(`cordon_memory_heap_used_bytes ${10 * MiB}`);
    expect(text).toContain('cordon_memory_leak_suspects 0');
    expect(text).not.toContain('cordon_memory_rss_bytes'); // owned by control/metrics.ts
    expect(text).toContain('cordon_memory_pressure_transitions_total{to="critical"} 1');
    expect(text).toContain('cordon_memory_pressure_transitions_total{to="normal"} 1');
    expect(text).toMatch(/cordon_buffer_pool_hit_ratio 0/);
  });
});
