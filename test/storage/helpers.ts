import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store, type StoreOptions } from '../../src/storage/index.js';
import { eventId, type PolicyEvent, type SessionEvent, type Severity } from '../../src/events.js';

const dirs: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cordon-storage-'));
  dirs.push(d);
  return d;
}

export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function open(dataDir: string, over: Partial<StoreOptions> = {}): Store {
  return openStore({
    dataDir, retentionMs: 7 * 86_400_000, flushIntervalMs: 20, queueMax: 10_000, profile: 'standard', ...over,
  });
}

export function policy(session_id: string, at: number, severity: Severity = 'medium', rule = 'r1'): PolicyEvent {
  return {
    kind: 'policy', id: eventId(at), session_id, rule, severity, action: 'flag', direction: 'request',
    excerpt: `excerpt of ${rule}`, at,
  };
}

export function completed(id: string, startedAt: number, endedAt: number): SessionEvent {
  return {
    kind: 'session', type: 'completed', session_id: id, at: endedAt,
    summary: {
      id, state: 'completed', upstream: 'http://u', client_ip: '127.0.0.1', started_at: startedAt,
      last_seen_at: endedAt - 1, requests: 3, bytes_in: 100, bytes_out: 200, flags: 1,
    },
  };
}
