// The contract between the proxy and the policy engine. The proxy never looks inside a rule;
// it hands text to inspectors and acts on the hits they return.
import type { Direction, RuleAction, Severity } from '../events.js';

export interface Hit {
  rule: string;
  severity: Severity;
  /** the rule's own action; the proxy downgrades block/terminate to flag in audit mode */
  action: RuleAction;
  direction: Direction;
  /** bounded text around the match (profile's excerpt_bytes) */
  excerpt: string;
  /** for metric rules answered with 429: seconds until the window allows more */
  retry_after?: number;
  /** anomaly score of the request's language signals (detection hits only) */
  score?: number;
  /** signal families that added to the score, heaviest first */
  labels?: string[];
  /** the judge's verdict (`safe`, `unsafe`, `error`) and label, when it was asked */
  judge?: string;
  judge_ms?: number;
}

/** Per-stream inspection state: a few dozen bytes of automaton state and a bounded tail. */
export interface StreamInspector {
  /** Feeds one chunk as the socket gave it. Returns hits found so far in it, or null. */
  write(chunk: Buffer): Hit[] | null;
  /** The stream ended: flush what a decoder still holds. */
  end(): Hit[] | null;
  /** Tokens reported by usage fields or estimated from text, and tool calls seen, so far. */
  readonly tokens: number;
  readonly toolCalls: number;
  /** Bytes this inspector holds (memory accounting). */
  bytes(): number;
  /**
   * Hold-back (an SSE answer under rules that redact or refuse): the bytes to send for the chunk
   * just written, in place of it (null: nothing now), and after end() what was still held.
   * Without hold-back these are absent or holdsBack is false, and the chunk goes as it came.
   */
  readonly holdsBack?: boolean;
  take?(): Buffer | null;
  takeEnd?(): Buffer | null;
}

export interface RuleStat {
  name: string;
  kind: 'pattern' | 'metric';
  target: string;
  severity: Severity;
  action: RuleAction;
  hits: number;
  source: 'preset' | 'config';
}

export interface PolicyEngine {
  readonly hasRequestRules: boolean;
  readonly hasResponseRules: boolean;
  /** a response rule may refuse or rewrite an answer (block, redact, terminate): whole answers are held */
  readonly actsOnResponses: boolean;
  /**
   * Inspects a whole request body (already bounded by max_body). `json` is the parsed body when it
   * was JSON, else undefined (then the body is scanned as text). `slot` identifies the session so
   * that only turns new since its last request are scanned, and metric rules can count.
   */
  inspectRequest(slot: number, body: Buffer, json: unknown, path: string, nowMs: number): Hit[] | null;
  /** Opens a per-stream inspector for a response (SSE, NDJSON, JSON or bytes by content type). */
  openResponse(slot: number, contentType: string | undefined, path: string): StreamInspector | null;
  /**
   * A held whole answer with every match of `rules` replaced by `[REDACTED:<rule>]`, or null when
   * a match is left after it (then the answer must be refused).
   */
  redactAnswer(body: Buffer, contentType: string | undefined, rules: ReadonlySet<string>): Buffer | null;
  /** Opens an inspector for one message in either direction (WebSocket text messages). */
  openMessage(slot: number, direction: Direction, contentType: string | undefined): StreamInspector | null;
  /**
   * Right after inspectRequest let a request through: null when no judge is configured or wanted
   * (the request goes on at once), else the judge's hits once it answered (or timed out).
   */
  judgeRequest(slot: number): Promise<Hit[] | null> | null;
  /** Account what a finished response reported (tokens, tool calls) against metric rules. */
  settleResponse(slot: number, tokens: number, toolCalls: number, nowMs: number): Hit[] | null;
  /** A session's slot was freed: drop any per-session side state. */
  releaseSession(slot: number): void;
  rules(): RuleStat[];
  /**
   * Request-rate rules with a window that refuse (block/terminate): in fleet mode the proxy also
   * enforces these across instances through the shared store, since a local count sees one instance.
   */
  windowedRequestRules(): ReadonlyArray<{ name: string; limit: number; windowMs: number; action: RuleAction; severity: Severity }>;
  /** Count hits the proxy found on the engine's behalf (fleet-wide rate limits). */
  countHits(hits: Hit[]): void;
  /** bytes held by per-session and per-stream state */
  bytes(): number;
}
