// What the proxy's phases need from the rest of the gateway, built once by src/gateway.ts.
import type { Config } from '../config/schema.js';
import type { ProfileBounds } from '../config/profiles.js';
import type { EventBus, RuleAction } from '../events.js';
import type { Logger } from '../log.js';
import type { PolicyEngine } from '../policy/types.js';
import type { SessionRegistry } from '../sessions/types.js';
import type { SessionGate } from '../sessions/gate.js';
import type { FleetState } from '../fleet/types.js';
import type { Inflight } from './inflight.js';
import type { Uploads } from './uploads.js';
import type { StreamAccounts } from '../memory/streams.js';
import type { UpstreamSet } from './upstreams.js';
import type { OperatingHooks } from './operating.js';
import type { ToolGate } from '../tools/gate.js';
import type { Auth } from '../auth/service.js';
import type { Spend } from '../spend/service.js';
import type { ProxyErrorType } from '../errors/catalog.js';

export interface Identity {
  valid(id: string): boolean;
  fromJson(json: unknown): string | undefined;
  derive(clientIp: string, userAgent: string, nowMs: number): string;
}

/** One captured body being written (storage/capture.ts). */
export interface CaptureWriter {
  /** storage's request sequence: the response's capture passes its request's to pair them */
  readonly requestSeq: number;
  write(chunk: Buffer): void;
  /** the body is complete */
  end(): void;
  /** the body was cut (kill, rule, error, client gone): not stored as complete */
  abort(): void;
}

export interface CaptureSink {
  /** A writer for one body, or null when captures are shed (memory pressure) or off. */
  open(sessionId: string, direction: 'request' | 'response', requestSeq?: number): CaptureWriter | null;
}

export interface ProxyContext {
  /** replaced by a config reload (src/config/reload.ts), as are `policy` and `fleetRates` */
  cfg: Config;
  readonly bounds: ProfileBounds;
  readonly log: Logger;
  readonly bus: EventBus;
  readonly upstreams: UpstreamSet;
  readonly sessions: SessionRegistry;
  /** admission and ending of sessions (kills, terminates, draining, pressure) */
  readonly gate: SessionGate;
  readonly identity: Identity;
  policy: PolicyEngine | null;
  readonly inflight: Inflight;
  /** request bodies being received (paused at critical memory pressure) */
  readonly uploads: Uploads;
  /** every stream's memory account, and the per-stream limit now (limits.stream_buffer) */
  readonly streams: StreamAccounts;
  /** shared state across instances; LocalFleet without --redis */
  readonly fleet: FleetState;
  /** request-rate rules enforced fleet-wide (empty unless fleet mode is on Redis) */
  fleetRates: ReturnType<PolicyEngine['windowedRequestRules']>;
  readonly capture: CaptureSink | null;
  /** tool allow/deny lists, holds for approval, tool_description rules, loop guard; null when none apply */
  tools: ToolGate | null;
  /** API keys (auth/): the per-request credential check */
  readonly auth: Auth;
  /** agents, usage, cost, latency and budgets (spend/) */
  readonly spend: Spend;
  readonly counters: { total: number; blocked: number };
  readonly accessLog: boolean;
  /** retries and tracing */
  readonly ops: OperatingHooks;
  /** one finished request: status, upstream index (-1 none), gateway-added ms, upstream ms */
  observe(status: number, upstream: number, addedMs: number, upstreamMs: number): void;
  onHit(rule: string, action: RuleAction): void;
  /** the gateway answered a request itself with this SPEC error type */
  onReject(type: ProxyErrorType): void;
}
