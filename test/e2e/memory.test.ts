// Memory governance through the real binary: /control/memory's shape, the stats block, the
// start minimum, and nonsense sizes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runToExit, startGateway, startMockLlm } from '../helpers/procs.js';

describe('memory', () => {
  it('/control/memory lists every component with bytes, and /metrics has them', async () => {
    const mock = await startMockLlm();
    const gw = await startGateway(['--upstream', mock.url, '--memory-limit', '512MB']);
    try {
      await fetch(`${gw.proxy}/v1/models`, { headers: { 'x-session-id': 'mem-1' } }).then((r) => r.arrayBuffer());
      const m = await fetch(`${gw.control}/control/memory`).then((r) => r.json()) as {
        limit_bytes: number; rss_bytes: number; pressure: string; components: Record<string, { bytes: number; count?: number }>;
      };
      expect(m.limit_bytes).toBe(512 * 1024 * 1024);
      expect(m.rss_bytes).toBeGreaterThan(0);
      expect(m.pressure).toBe('normal');
      for (const name of ['sessions', 'buffers', 'scanners', 'captures', 'websockets', 'storage_queue', 'upstreams', 'unattributed']) {
        expect(typeof m.components[name]?.bytes, name).toBe('number');
      }
      expect(m.components.sessions.count).toBe(1);
      const stats = await fetch(`${gw.control}/control/stats`).then((r) => r.json()) as { memory: { bytes_per_session: number; pressure: string } };
      expect(stats.memory.bytes_per_session).toBeGreaterThan(0);
      const text = await fetch(`${gw.control}/metrics`).then((r) => r.text());
      expect(text).toMatch(/cordon_memory_bytes\{component="sessions"\} \d+/);
    } finally {
      await gw.stop();
      await mock.stop();
    }
  });

  it('at warning, idle keep-alive connections are closed within seconds instead of a minute', async () => {
    const mock = await startMockLlm();
    // A warning threshold below any process's RSS: the gateway is at warning from its first sample.
    const dir = mkdtempSync(join(tmpdir(), 'cordon-mem-warn-'));
    writeFileSync(join(dir, 'c.yaml'), 'memory:\n  warning: 0.01\n  critical: 0.99\n  sample_interval: 100ms\n');
    const gw = await startGateway(['--config', join(dir, 'c.yaml'), '--upstream', mock.url, '--memory-limit', '512MB']);
    try {
      let pressure = '';
      for (let i = 0; i < 50 && pressure !== 'warning'; i++) {
        pressure = ((await fetch(`${gw.control}/control/memory`).then((r) => r.json())) as { pressure: string }).pressure;
        if (pressure !== 'warning') await new Promise((r) => setTimeout(r, 100));
      }
      expect(pressure).toBe('warning');
      const { port, hostname } = new URL(gw.proxy);
      const sock = net.connect(Number(port), hostname);
      let got = '';
      sock.on('data', (d) => { got += d.toString(); });
      const closed = new Promise<number>((r) => sock.once('close', () => r(Date.now())));
      await new Promise((r) => sock.once('connect', r));
      sock.write('GET /v1/models HTTP/1.1\r\nhost: x\r\nx-session-id: warn-1\r\nconnection: keep-alive\r\n\r\n');
      while (!got.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 20));
      const answeredAt = Date.now();
      expect(got).toMatch(/^HTTP\/1\.1 200/);
      // Without the action the server keeps an idle connection for 65s.
      const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 8_000))]);
      expect(at).toBeGreaterThan(0);
      expect(at - answeredAt).toBeLessThan(6_000);
    } finally {
      await gw.stop();
      await mock.stop();
    }
  });

  it('a limit below what the process needs to start exits 2 and names the minimum', async () => {
    const r = await runToExit(['start', '--upstream', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', '--memory-limit', '16MB', '--data-dir', '/tmp/cordon-mem-low']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/memory_limit: .* needs to start; use --memory-limit \d+MB or more/);
  });

  it('a nonsense size exits 2', async () => {
    const r = await runToExit(['start', '--upstream', 'http://127.0.0.1:1', '--memory-limit', 'plenty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('memory_limit: not a size');
  });
});
