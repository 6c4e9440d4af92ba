// The contract between the proxy/control API and the session table.
export type SessionStateName = 'active' | 'idle' | 'killed' | 'terminated' | 'completed';

/** What /control/sessions/{id} returns (times as ISO 8601). */
export interface SessionView {
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
}

/** Why in-flight work of a session must end now. */
export type EndReason = 'session_killed' | 'session_terminated';

export interface SessionRegistry {
  /** Finds or creates the session for a request and counts the request. Returns its slot, or -1 when no slot can be had. */
  resolve(id: string, clientIp: string, upstream: number, bytesIn: number, nowMs: number): number;
  /** null when the session may proceed, else why it may not. */
  refusal(slot: number): EndReason | null;
  addBytesIn(slot: number, n: number): void;
  addBytesOut(slot: number, n: number): void;
  addFlag(slot: number): void;
  /** The upstream chosen for the session's latest request (sticky balancing keeps it). */
  setUpstream(slot: number, upstream: number): void;
  idOf(slot: number): string;
  terminate(slot: number, reason: string): void;
  kill(id: string): SessionView;
  resume(id: string): SessionView;
  get(id: string): SessionView | undefined;
  /** Called with the slot whenever a session is killed or terminated, so in-flight work can be aborted. */
  onEnd(fn: (slot: number, reason: EndReason) => void): void;
}
