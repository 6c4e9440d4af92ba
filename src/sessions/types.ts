// The contract between the proxy/control API and the session table.
import type { SessionSpend } from '../events.js';
/** Every state a session can be in, as the API names them (the one list: filters check against it). */
export const SESSION_STATES = ['active', 'idle', 'killed', 'terminated', 'completed'] as const;
export type SessionStateName = (typeof SESSION_STATES)[number];

/** What /control/sessions/{id} returns (times as ISO 8601). */
/** Spend fields (SessionSpend) are set by the spend part through SessionExtension. */
export interface SessionView extends SessionSpend {
  id: string;
  state: SessionStateName;
  upstream: string | null;
  client_ip: string | null;
  started_at: string;
  last_seen_at: string;
  requests: number;
  bytes_in: number;
  bytes_out: number;
  flags: number;
  /** set in fleet mode: the instance holding this session's live streams */
  instance?: string;
  /** for killed/terminated: who or which rule ended it ("operator", a rule name) */
  reason?: string;
  /** total time per request, and time to the first byte of the answer; null before the first */
  latency_ms?: Percentiles | null;
  ttfb_ms?: Percentiles | null;
}

export interface Percentiles { p50: number; p95: number; p99: number }

/**
 * What another part adds to a session (spend/: agent, tokens, cost, latency): fields on the view
 * and the summary, and side tables released with the slot.
 */
export interface SessionExtension {
  view(slot: number, v: SessionView): void;
  free(slot: number): void;
}

/** Why in-flight work of a session must end now. */
/** `agent_killed`: the session's agent was killed (the session itself stays as it was). */
export type EndReason = 'session_killed' | 'session_terminated' | 'agent_killed';

export interface SessionRegistry {
  /** Finds or creates the session for a request and counts the request. Returns its slot, or -1 when no slot can be had. */
  resolve(id: string, clientIp: string, upstream: number, bytesIn: number, nowMs: number): number;
  /** null when the session may proceed, else why it may not. */
  refusal(slot: number): EndReason | null;
  addBytesIn(slot: number, n: number): void;
  addBytesOut(slot: number, n: number): void;
  addFlag(slot: number): void;
  /** The agent number + 1 that owns the session (spend/agents.ts), 0 for none. */
  agentOf(slot: number): number;
  setAgent(slot: number, agent: number): void;
  /** Adds one response's usage; `model` is the model's number + 1 (0 unknown). Returns whether it was the slot's first model. */
  addUsage(slot: number, tokensIn: number, tokensOut: number, costUsd: number, model: number, estimated: boolean, toolCalls: number): boolean;
  /** The upstream chosen for the session's latest request (sticky balancing keeps it). */
  setUpstream(slot: number, upstream: number): void;
  idOf(slot: number): string;
  /** A request or socket of the session is in flight: the sweep must not free the slot until release(). */
  hold(slot: number): void;
  release(slot: number): void;
  terminate(slot: number, reason: string): void;
  kill(id: string): SessionView;
  resume(id: string): SessionView;
  get(id: string): SessionView | undefined;
  /** Called with the slot whenever a session is killed or terminated, so in-flight work can be aborted. */
  onEnd(fn: (slot: number, reason: EndReason) => void): void;
}

/** Query of GET /control/sessions. `cursor` is opaque: pass back what `next_cursor` gave. */
export interface SessionListQuery {
  state?: SessionStateName;
  limit: number;
  cursor?: string;
}

export interface SessionPage {
  sessions: SessionView[];
  next_cursor: string | null;
}

export interface SessionCounts {
  /** sessions in state `active` now */
  active: number;
  /** sessions seen since start (created by a request; kills in advance and restored kills not counted) */
  total: number;
  /** sessions in state `killed` now (kills in advance included) */
  killed: number;
}

/** Thrown by list() for a cursor that this table did not hand out. */
export class BadCursorError extends Error {
  readonly code = 'invalid_cursor';
}

/** What the control API reads: the registry plus listing, counting and memory accounting. */
export interface SessionControl extends SessionRegistry {
  list(q: SessionListQuery): SessionPage;
  stats(): SessionCounts;
  /** bytes the table holds by its own accounting (arrays, map entries, ID strings, side maps) */
  bytes(): number;
  /** bytes() / live sessions, 0 when there are none */
  bytesPerSession(): number;
  /** live sessions (every state but completed) */
  size(): number;
}
