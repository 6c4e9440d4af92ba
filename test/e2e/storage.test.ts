// Storage through the real binary: kills survive a restart, history answers, a bad data dir exits 2.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit, startGateway, startMockLlm, type MockProc } from '../helpers/procs.js';

let mock: MockProc;
beforeAll(async () => { mock = await startMockLlm(); });
afterAll(async () => { await mock?.stop(); });

describe('storage', () => {
  it('a kill survives a restart', async () => {
    const dataDir = mkdtempSync('/tmp/cordon-e2e-data-');
    const gw1 = await startGateway(['--upstream', mock.url, '--data-dir', dataDir, '--policy', 'off']);
    await fetch(`${gw1.control}/control/sessions/persist-me/kill`, { method: 'POST' }).then((r) => r.arrayBuffer());
    expect(await gw1.stop()).toBe(0);
    const gw2 = await startGateway(['--upstream', mock.url, '--data-dir', dataDir, '--policy', 'off']);
    try {
      const r = await fetch(`${gw2.proxy}/v1/models`, { headers: { 'x-session-id': 'persist-me' } });
      expect(r.status).toBe(403);
      expect(await r.json()).toMatchObject({ error: { type: 'session_killed' } });
      await fetch(`${gw2.control}/control/sessions/persist-me/resume`, { method: 'POST' }).then((x) => x.arrayBuffer());
      const ok = await fetch(`${gw2.proxy}/v1/models`, { headers: { 'x-session-id': 'persist-me' } });
      expect(ok.status).toBe(200);
      const ready = await fetch(`${gw2.control}/readyz`).then((x) => x.json());
      expect(ready).toMatchObject({ status: 'ready', storage: 'ok' });
    } finally {
      await gw2.stop();
    }
  });

  it('history and flagged answer in the SPEC shapes', async () => {
    const gw = await startGateway(['--upstream', mock.url, '--data-dir', mkdtempSync('/tmp/cordon-e2e-data-')]);
    try {
      const h = await fetch(`${gw.control}/control/history?limit=5`);
      expect(h.status).toBe(200);
      const f = await fetch(`${gw.control}/control/flagged?limit=5`).then((r) => r.json());
      expect(f).toHaveProperty('events');
      expect((await fetch(`${gw.control}/control/history?limit=abc`)).status).toBe(400);
    } finally {
      await gw.stop();
    }
  });

  it('a data dir that cannot be written exits 2 naming the path', async () => {
    const parent = mkdtempSync('/tmp/cordon-e2e-ro-');
    const file = `${parent}/not-a-dir`;
    writeFileSync(file, 'x');
    const r = await runToExit(['start', '--upstream', mock.url, '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', '--data-dir', `${file}/sub`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}/sub`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a foreign database file is refused with a clear error', async () => {
    const dir = mkdtempSync('/tmp/cordon-e2e-foreign-');
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/cordon.db`, 'this is not sqlite at all, just text'.repeat(200));
    chmodSync(`${dir}/cordon.db`, 0o644);
    const r = await runToExit(['start', '--upstream', mock.url, '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', '--data-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cordon.db');
  });
});
