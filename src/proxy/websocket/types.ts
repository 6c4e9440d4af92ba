// The contract between the WebSocket relay and the rest of the gateway. The relay knows nothing
// of sessions, policy or upstream pools: the composition root hands it these functions.
import type { IncomingMessage } from 'node:http';
import type { Hit, StreamInspector } from '../../policy/types.js';
import type { Direction } from '../../events.js';
import type { WsRegistry } from './registry.js';
import type { AccountedStream } from '../../memory/streams.js';
import type { Span } from '../../telemetry/types.js';
import type { UpstreamCredential } from '../headers.js';

/** The session may proceed: its slot in the session table and its resolved ID. */
export interface SessionGrant {
  slot: number;
  id: string;
  /** the agent of the cordon key the upgrade presented (traces) */
  agent?: string;
}

/** The upgrade is refused with a plain HTTP error in the SPEC.md JSON shape. */
export interface Refusal {
  status: number;
  type: string;
  code: string;
  message: string;
  /** e.g. Retry-After for 429/503, X-Session-ID once the ID is known */
  headers?: Record<string, string>;
}

export interface RelayBounds {
  /** per-connection, per-direction queue high-water mark (profile ws_high_water, at most limits.stream_buffer as lowered under pressure) */
  highWater: number;
  /** largest frame and message, bytes (config websocket.max_frame) */
  maxFrame: number;
  /** a connection with no traffic either way for this long is closed with 1001 (ms) */
  idleTimeoutMs: number;
  /** TCP/TLS connect plus handshake to the upstream (config timeouts.connect) */
  connectTimeoutMs: number;
  /** negotiate permessage-deflate (config websocket.permessage_deflate); off by default */
  permessageDeflate: boolean;
  /** verify upstream TLS certificates (config upstream_pool.tls_verify) */
  tlsVerify: boolean;
}

export interface RelayDeps {
  /** identity, auth and kill checks, done before the upgrade completes */
  resolveSession(req: IncomingMessage): SessionGrant | Refusal | Promise<SessionGrant | Refusal>;
  /** the backend base URL (http(s):// or ws(s)://); its path is a prefix that is not doubled; null = none healthy */
  pickUpstream(slot: number): URL | null;
  /** the operator's credential for an upstream pickUpstream returned (upstreams[].api_key_env), or null */
  credentialFor?(upstream: URL): UpstreamCredential | null;
  /** a scanner for one text message in one direction, or null when no rule applies */
  openInspector(slot: number, direction: Direction): StreamInspector | null;
  /** decides what a hit does: 'close' ends the connection with 1008 both ways ('pass' = flagged only) */
  onHit(slot: number, hit: Hit): 'pass' | 'close';
  /** traffic accounting (optional): bytes relayed in a direction */
  onTraffic?(slot: number, direction: Direction, bytes: number): void;
  registry: WsRegistry;
  /** per-stream memory accounts (memory/streams.ts), when the gateway keeps them */
  streams?: { add(s: AccountedStream): void; remove(s: AccountedStream): void };
  bounds: RelayBounds;
  /** tracing (telemetry configured): a span per connection, or null when not sampled */
  openSpan?(req: IncomingMessage, grant: SessionGrant, upstream: URL): Span | null;
  endSpan?(span: Span, bytesIn: number, bytesOut: number): void;
}

export function isRefusal(r: SessionGrant | Refusal): r is Refusal {
  return (r as Refusal).status !== undefined;
}
