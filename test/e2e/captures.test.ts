// Forensics captures through the real binary: a response is paired with its request (one
// request_seq), and a body cut by a kill is not stored as complete (no fin row).
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type MockProc } from '../helpers/procs.js';

let mock: MockProc;
beforeAll(async () => { mock = await startMockLlm(); });
afterAll(async () => { await mock?.stop(); });

interface Row { session_id: string; request_seq: number; direction: string; fin: number }

const chat = (stream: boolean) => JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hello' }] });

describe('forensics captures', () => {
  it('pairs request and response, and marks only whole bodies complete', async () => {
    const dataDir = mkdtempSync('/tmp/cordon-e2e-capture-');
    const gw = await startGateway(['--upstream', mock.url, '--data-dir', dataDir, '--profile', 'forensics', '--policy', 'off']);
    try {
      const whole = await fetch(`${gw.proxy}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': 'cap-whole' }, body: chat(false),
      });
      expect(whole.status).toBe(200);
      await whole.arrayBuffer();
      const cut = await fetch(`${gw.proxy}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-id': 'cap-cut', 'x-mock-deltas': '200', 'x-mock-delay-ms': '20' },
        body: chat(true),
      });
      expect(cut.status).toBe(200);
      const reader = cut.body!.getReader();
      await reader.read(); // the stream has begun
      await fetch(`${gw.control}/control/sessions/cap-cut/kill`, { method: 'POST' }).then((r) => r.arrayBuffer());
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
      expect(text).toContain('session_killed');
    } finally {
      expect(await gw.stop()).toBe(0);
    }
    const db = new Database(`${dataDir}/cordon.db`, { readonly: true });
    try {
      const rows = db.prepare('SELECT session_id, request_seq, direction, fin FROM captures ORDER BY rowid').all() as Row[];
      const of = (id: string, dir: string) => rows.filter((r) => r.session_id === id && r.direction === dir);
      for (const id of ['cap-whole', 'cap-cut']) {
        expect(of(id, 'request').length).toBeGreaterThan(0);
        expect(of(id, 'response').length).toBeGreaterThan(0);
        // one exchange: the response carries its request's sequence number
        expect(new Set([...of(id, 'request'), ...of(id, 'response')].map((r) => r.request_seq)).size).toBe(1);
      }
      expect(of('cap-whole', 'response').some((r) => r.fin === 1)).toBe(true);
      expect(of('cap-cut', 'request').some((r) => r.fin === 1)).toBe(true);
      expect(of('cap-cut', 'response').some((r) => r.fin === 1)).toBe(false);
    } finally {
      db.close();
    }
  });
});
