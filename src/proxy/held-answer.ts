// A whole (non-streamed) JSON answer held until the policy has read all of it (SPEC "What the
// policy sees, and what it does"): then it is released as it came, released redacted with a new
// Content-Length, or refused with 403 policy_violation, a status SDKs do not retry (a reset after
// part of a body is retried, and each retry is billed). Bounded by policy.hold_response_max.
import type { Hit } from '../policy/types.js';
import { dropHeader } from './headers.js';

export class HeldAnswer {
  private chunks: Buffer[] = [];
  private held = 0;
  /** the redact hits found so far (their rules are redacted at release) */
  redactHits: Hit[] | null = null;
  /** the head, once the exchange (or the tool watch) gave it */
  status = 0;
  headers: string[] | null = null;

  constructor(readonly max: number) {}

  head(status: number, headers: string[]): void {
    this.status = status;
    this.headers = headers;
  }

  /** Keeps a chunk; false when the answer is now over the bound (the chunk is kept too). */
  add(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.held += chunk.length;
    return this.held <= this.max;
  }

  /** Hands the held chunks over (once): the answer is released or refused. */
  take(): Buffer[] {
    const c = this.chunks;
    this.chunks = [];
    this.held = 0;
    return c;
  }

  body(): Buffer {
    const c = this.take();
    return c.length === 1 ? c[0] : Buffer.concat(c);
  }

  redactRules(): Set<string> | null {
    return this.redactHits === null ? null : new Set(this.redactHits.map((h) => h.rule));
  }

  /** The head for a body of `length` bytes (an upstream's Content-Length no longer holds after a rewrite). */
  headFor(length: number): string[] {
    const h = this.headers ?? [];
    dropHeader(h, 'content-length');
    h.push('content-length', String(length));
    return h;
  }

  bytes(): number {
    return 64 + this.held;
  }
}
