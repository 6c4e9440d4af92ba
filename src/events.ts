// The in-process event bus: session lifecycle and policy events flow from the proxy and the
// session table to storage, the control SSE stream and metrics. Listeners must be cheap and
// must not throw; anything slow (storage) queues the event and returns.
import { EventEmitter } from 'node:events';

export type Direction = 'request' | 'response';
export type Severity = 'low' | 'medium' | 'high' | 'critical';
/**
 * `hold`: a tool call waits for an operator's approval (tools/); `redact`: the match reaches the
 * client as `[REDACTED:<rule>]` (answers; a request with a match is refused as by `block`)
 */
export type RuleAction = 'flag' | 'block' | 'redact' | 'terminate' | 'hold';

/** A policy hit or an operator action, as stored and as shown by /control/flagged. */
export interface PolicyEvent {
  kind: 'policy';
  id: string;
  session_id: string;
  rule: string;
  severity: Severity;
  /** what was done: in audit mode a block or terminate is recorded as `flag` */
  action: RuleAction;
  direction: Direction;
  excerpt: string;
  /** epoch milliseconds */
  at: number;
  /** detection hits: the request's anomaly score and the signal families in it */
  score?: number;
  labels?: string[];
  /** when a judge was asked: its verdict ("unsafe S1", "error: timeout") and how long it took */
  judge?: string;
  judge_ms?: number;
}

export interface SessionEvent {
  kind: 'session';
  type: 'started' | 'killed' | 'resumed' | 'terminated' | 'idle' | 'completed';
  session_id: string;
  at: number;
  /** for `completed`: the summary that goes to storage */
  summary?: SessionSummary;
  reason?: string;
  /** `fleet`: a kill or terminate made on another instance and applied here (sessions/gate.ts) */
  origin?: 'fleet';
}

export interface SessionSummary extends SessionSpend {
  id: string;
  state: string;
  upstream: string | null;
  client_ip: string | null;
  started_at: number;
  last_seen_at: number;
  requests: number;
  bytes_in: number;
  bytes_out: number;
  flags: number;
}

/** What a session spent (SPEC "Agents, keys and spend"), on its summary and its view: set by the spend
 * part (spend/service.ts), absent when the gateway runs without it. */
export interface SessionSpend {
  agent?: string | null;
  team?: string | null;
  models?: string[];
  tokens_in?: number;
  tokens_out?: number;
  cost_usd?: number;
  tokens_estimated?: boolean;
  tool_calls?: number;
}

/** A held tool call as GET /control/approvals lists it (SPEC "Tools"), plus the binding hash. */
export interface ApprovalView {
  id: string;
  session_id: string;
  agent: string | null;
  tool: string;
  arguments_excerpt: string;
  rule: string;
  /** ISO 8601 */
  at: string;
  expires_at: string;
  /** sha256 hex of the tool name, a NUL and the exact arguments text: what a decision is bound to */
  call_sha256: string;
  /** the instance holding the call (fleet mode) */
  instance?: string;
}

/** A tool call was held for approval, or its hold was decided (tools/approvals.ts). */
export interface ApprovalEvent {
  kind: 'approval';
  type: 'pending' | 'approved' | 'denied' | 'expired';
  id: string;
  session_id: string;
  tool: string;
  /** epoch milliseconds */
  at: number;
  /** with `pending`: the whole record */
  approval?: ApprovalView;
}

export type GatewayEvent = PolicyEvent | SessionEvent | ApprovalEvent;

export class EventBus extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(100);
  }
  publish(ev: GatewayEvent): void {
    this.emit('event', ev);
  }
  subscribe(fn: (ev: GatewayEvent) => void): () => void {
    this.on('event', fn);
    return () => this.off('event', fn);
  }
}

let seq = 0;
/** Short unique event IDs: time-ordered, no crypto on the hot path. */
export function eventId(now = Date.now()): string {
  seq = (seq + 1) & 0xffffff;
  return `${now.toString(36)}-${seq.toString(36)}-${process.pid.toString(36)}`;
}
