// Balancing, failover, timeouts and an unreachable upstream, against real mock processes.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type Proc } from '../helpers/procs.js';

const procs: Proc[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function servedBy(proxy: string, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${proxy}/v1/models`, { headers });
    expect(r.status).toBe(200);
    out.push(r.headers.get('x-mock-server')!);
    await r.arrayBuffer();
  }
  return out;
}

describe('upstream pool', () => {
  it('round-robins across two upstreams', async () => {
    const a = await startMockLlm(); const b = await startMockLlm(); procs.push(a, b);
    const gw = await startGateway(['--upstream', a.url, '--upstream', b.url, '--policy', 'off']); procs.push(gw);
    const seen = await servedBy(gw.proxy, 10);
    expect(seen.filter((s) => s === a.address)).toHaveLength(5);
    expect(seen.filter((s) => s === b.address)).toHaveLength(5);
  });

  it('fails over when one upstream dies, and ejects it', async () => {
    const a = await startMockLlm(); const b = await startMockLlm(); procs.push(a, b);
    const gw = await startGateway(['--upstream', a.url, '--upstream', b.url, '--policy', 'off']); procs.push(gw);
    await servedBy(gw.proxy, 2);
    await a.stop('SIGKILL');
    const seen = await servedBy(gw.proxy, 8);
    expect(new Set(seen)).toEqual(new Set([b.address]));
  });

  it('502 upstream_error when nothing listens', async () => {
    const port = await freePort();
    const gw = await startGateway(['--upstream', `http://127.0.0.1:${port}`, '--policy', 'off']); procs.push(gw);
    const r = await fetch(`${gw.proxy}/v1/models`);
    expect(r.status).toBe(502);
    expect(await r.json()).toMatchObject({ error: { type: 'upstream_error' } });
  });

  it('504 upstream_timeout when headers are too slow', async () => {
    const a = await startMockLlm(); procs.push(a);
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/cordon-cfg-');
    writeFileSync(`${dir}/c.yaml`, `upstreams:\n  - url: ${a.url}\ntimeouts:\n  headers: 300ms\npolicy:\n  preset: off\n`);
    const gw = await startGateway(['--config', `${dir}/c.yaml`]); procs.push(gw);
    const r = await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-mock-status': '200', 'x-mock-delay-ms': '2000' } });
    expect(r.status).toBe(504);
    expect(await r.json()).toMatchObject({ error: { type: 'upstream_timeout' } });
  });

  it('weighted balancing follows the weights', async () => {
    const a = await startMockLlm(); const b = await startMockLlm(); procs.push(a, b);
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/cordon-cfg-');
    writeFileSync(`${dir}/c.yaml`, `upstreams:\n  - url: ${a.url}\n    weight: 3\n  - url: ${b.url}\n    weight: 1\nbalance: weighted\npolicy:\n  preset: off\n`);
    const gw = await startGateway(['--config', `${dir}/c.yaml`]); procs.push(gw);
    const seen = await servedBy(gw.proxy, 8);
    expect(seen.filter((s) => s === a.address)).toHaveLength(6);
  });

  it('sticky keeps a session on one upstream', async () => {
    const a = await startMockLlm(); const b = await startMockLlm(); procs.push(a, b);
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/cordon-cfg-');
    writeFileSync(`${dir}/c.yaml`, `upstreams:\n  - url: ${a.url}\n  - url: ${b.url}\nbalance: sticky\npolicy:\n  preset: off\n`);
    const gw = await startGateway(['--config', `${dir}/c.yaml`]); procs.push(gw);
    const s1 = await servedBy(gw.proxy, 5, { 'x-session-id': 'stick-a' });
    expect(new Set(s1).size).toBe(1);
  });
});
