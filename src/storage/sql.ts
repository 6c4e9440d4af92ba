// The write statements, shared by the main-thread writer and the writer thread, and the shape of
// a batch as it crosses to either: plain data only (structured-clonable, no class instances).
import type { EventRecord, KillRecord, SessionRecord } from './queue.js';

export interface CaptureRowWire {
  session_id: string;
  request_seq: number;
  direction: string;
  chunk_seq: number;
  gap: number;
  fin: number;
  at: number;
  bytes: Uint8Array;
}

export interface WireBatch {
  kills: KillRecord[];
  sessions: SessionRecord[];
  events: EventRecord[];
  captures: CaptureRowWire[];
}

export const SQL = {
  event: 'INSERT INTO events (id, kind, session_id, rule, severity, action, direction, excerpt, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  session: 'INSERT INTO sessions (id, state, upstream, client_ip, started_at, last_seen_at, ended_at, requests, bytes_in, bytes_out, flags, agent, team, models, tokens_in, tokens_out, cost_usd, tokens_estimated, tool_calls) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  killSet: 'INSERT INTO kills (id, state, at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, at = excluded.at',
  killDel: 'DELETE FROM kills WHERE id = ?',
  chunk: 'INSERT INTO captures (session_id, request_seq, direction, chunk_seq, gap, fin, at, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
} as const;

export interface WriteStatements {
  event: { run(...args: unknown[]): unknown };
  session: { run(...args: unknown[]): unknown };
  killSet: { run(...args: unknown[]): unknown };
  killDel: { run(...args: unknown[]): unknown };
  chunk: { run(...args: unknown[]): unknown };
}

/**
 * Writes one batch (call inside a transaction); returns rows written. It refers to nothing outside
 * itself, because the writer thread runs it from its source text (`writeBatch.toString()`), so
 * both writers run the very same code.
 */
export function writeBatch(s: WriteStatements, b: WireBatch): number {
  for (const k of b.kills) {
    if (k.state === null) s.killDel.run(k.id);
    else s.killSet.run(k.id, k.state, k.at);
  }
  for (const x of b.sessions) {
    s.session.run(x.id, x.state, x.upstream, x.client_ip, x.started_at, x.last_seen_at, x.ended_at, x.requests, x.bytes_in, x.bytes_out, x.flags,
      x.agent ?? null, x.team ?? null, x.models !== undefined && x.models.length > 0 ? JSON.stringify(x.models) : null,
      x.tokens_in ?? 0, x.tokens_out ?? 0, x.cost_usd ?? 0, x.tokens_estimated === true ? 1 : 0, x.tool_calls ?? 0);
  }
  for (const e of b.events) {
    s.event.run(e.id, e.kind, e.session_id, e.rule, e.severity, e.action, e.direction, e.excerpt, e.at, e.detail ?? null);
  }
  for (const c of b.captures) {
    // a Buffer arrives in the writer thread as a plain Uint8Array view; SQLite binds Buffers
    const bytes = Buffer.isBuffer(c.bytes) ? c.bytes : Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
    s.chunk.run(c.session_id, c.request_seq, c.direction, c.chunk_seq, c.gap, c.fin, c.at, bytes);
  }
  return b.kills.length + b.sessions.length + b.events.length + b.captures.length;
}
