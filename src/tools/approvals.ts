// Pending approvals: a held tool call waits here until an operator approves or denies it, or its
// timeout denies it. Each hold is bound to a SHA-256 of the exact tool name and arguments: a
// decision releases only the call with that ID and that hash, never another call, even an identical
// one. The registry is local; in fleet mode a FleetApprovals port shares records and decisions so
// that an operator on any instance can decide (approvals-redis.ts).
import { createHash, randomBytes } from 'node:crypto';
import type { ApprovalEvent, ApprovalView } from '../events.js';

export type { ApprovalView };

export type Decision = 'approved' | 'denied' | 'expired';

export interface HoldRequest {
  sessionId: string;
  agent: string | null;
  tool: string;
  /** the arguments exactly as the call carries them (JSON text) */
  args: string;
  rule: string;
  /** bytes the holder keeps for this call besides the record (a withheld chunk, a request body) */
  heldBytes: number;
}

export type DecideResult = 'ok' | 'unknown' | 'decided' | 'expired';

/** Shares records and decisions across instances. */
export interface FleetApprovals {
  /**
   * Stores a new pending record; resolves once it is stored (then any instance can decide it), or
   * rejects (then only this instance can). Never throws synchronously.
   */
  publish(view: ApprovalView, ttlMs: number): Promise<void>;
  /** decides a record anywhere in the fleet; the holder learns it by pub/sub or at reconnect */
  decide(id: string, decision: 'approved' | 'denied'): Promise<DecideResult>;
  /** the pending records of every instance */
  list(): Promise<ApprovalView[]>;
  /** drops a record this instance resolved (timeout, session ended) */
  forget(id: string, decision: Decision): void;
  /** called with (id, decision, call hash) for every decision made anywhere */
  onDecision(fn: (id: string, decision: Decision, hash: string) => void): void;
  /** asks for the state of ids this instance still holds (after a reconnect) */
  close(): Promise<void>;
}

export interface ApprovalOptions {
  timeoutMs: number;
  maxPerSession: number;
  /** at most this many pending holds in all (1,000 bounded; past it a hold is denied at once) */
  maxTotal?: number;
  onEvent?(ev: ApprovalEvent): void;
  fleet?: FleetApprovals | null;
  instance?: string;
}

/** Measured size of a pending entry without its held bytes (bench/approvals-memory.mjs). */
export const PENDING_BASE_BYTES = 1_200;
const EXCERPT_CHARS = 200;
/** decided IDs remembered for 409 answers */
const DECIDED_MAX = 10_000;

interface Pending {
  readonly view: ApprovalView;
  readonly hash: string;
  readonly heldBytes: number;
  readonly resolve: (d: Decision) => void;
  readonly timer: NodeJS.Timeout;
}

export function callHash(tool: string, args: string): string {
  return createHash('sha256').update(tool).update('\0').update(args).digest('hex');
}

export class Approvals {
  private readonly pending = new Map<string, Pending>();
  private readonly perSession = new Map<string, number>();
  /** id → decision, for 409 on a second decision; oldest dropped past DECIDED_MAX */
  private readonly decided = new Map<string, Decision>();
  private heldBytes = 0;
  private readonly maxTotal: number;

  constructor(private readonly opts: ApprovalOptions) {
    this.maxTotal = opts.maxTotal ?? 10_000;
    opts.fleet?.onDecision((id, decision, hash) => this.settle(id, decision, hash, false));
  }

  get size(): number { return this.pending.size; }

  /** A reload: the timeout and the per-session cap of holds taken from now on. */
  configure(timeoutMs: number, maxPerSession: number): void {
    this.opts.timeoutMs = timeoutMs;
    this.opts.maxPerSession = maxPerSession;
  }

  bytes(): number {
    return this.pending.size * PENDING_BASE_BYTES + this.heldBytes + this.decided.size * 64;
  }

  /**
   * Holds a call. Resolves with the decision; 'denied' at once when the session already has
   * maxPerSession pending holds or the registry is full.
   */
  hold(req: HoldRequest): { id: string | null; decision: Promise<Decision> } {
    const n = this.perSession.get(req.sessionId) ?? 0;
    if (n >= this.opts.maxPerSession || this.pending.size >= this.maxTotal) {
      return { id: null, decision: Promise.resolve('denied') };
    }
    const id = `ap_${randomBytes(9).toString('base64url')}`;
    const now = Date.now();
    const hash = callHash(req.tool, req.args);
    const view: ApprovalView = {
      id, session_id: req.sessionId, agent: req.agent, tool: req.tool,
      arguments_excerpt: req.args.length > EXCERPT_CHARS ? `${req.args.slice(0, EXCERPT_CHARS)}…` : req.args,
      rule: req.rule, at: new Date(now).toISOString(), expires_at: new Date(now + this.opts.timeoutMs).toISOString(),
      call_sha256: hash,
    };
    if (this.opts.instance !== undefined) view.instance = this.opts.instance;
    let resolve!: (d: Decision) => void;
    const decision = new Promise<Decision>((r) => { resolve = r; });
    const timer = setTimeout(() => this.settle(id, 'expired', hash, true), this.opts.timeoutMs);
    timer.unref();
    this.pending.set(id, { view, hash, heldBytes: req.heldBytes, resolve, timer });
    this.perSession.set(req.sessionId, n + 1);
    this.heldBytes += req.heldBytes;
    const announce = () => {
      if (this.pending.has(id)) this.opts.onEvent?.({ kind: 'approval', type: 'pending', id, session_id: req.sessionId, tool: req.tool, at: now, approval: view });
    };
    // In fleet mode the hold is announced once its record is stored, so that an operator who acts
    // on the announcement from another instance finds it there.
    if (this.opts.fleet) this.opts.fleet.publish(view, this.opts.timeoutMs).then(announce, announce);
    else announce();
    return { id, decision };
  }

  /** The holder gave up on a call (client gone, session killed): denied, and forgotten. */
  cancel(id: string): void {
    this.settle(id, 'denied', null, true);
  }

  /** An operator's decision on this instance. */
  async decide(id: string, decision: 'approved' | 'denied'): Promise<DecideResult> {
    const fleet = this.opts.fleet;
    if (fleet) {
      let r: DecideResult;
      try {
        r = await fleet.decide(id, decision);
      } catch (err) {
        // Redis unreachable: a call held here can still be decided here
        if (!this.pending.has(id)) throw err;
        r = 'unknown';
      }
      // the holder (maybe this instance) also hears it by pub/sub; settle now if it is ours, and
      // decide locally a call whose record never reached Redis
      if (r === 'ok' || (r === 'unknown' && this.pending.has(id))) {
        this.settle(id, decision, null, false);
        return 'ok';
      }
      return r;
    }
    const p = this.pending.get(id);
    if (p === undefined) {
      const d = this.decided.get(id);
      return d === undefined ? 'unknown' : d === 'expired' ? 'expired' : 'decided';
    }
    this.settle(id, decision, p.hash, false);
    return 'ok';
  }

  async list(): Promise<ApprovalView[]> {
    const local = () => [...this.pending.values()].map((p) => p.view);
    if (!this.opts.fleet) return local();
    // Redis unreachable: this instance's own holds are still worth listing (and deciding)
    return this.opts.fleet.list().catch(local);
  }

  /** Local pending views (for the reconnect re-read in fleet mode). */
  localIds(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * Resolves a pending hold. `hash` (when known) must equal the hold's: a decision made for one
   * call never releases another.
   */
  settle(id: string, decision: Decision, hash: string | null, fromHere: boolean): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    if (hash !== null && hash !== p.hash) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    const sid = p.view.session_id;
    const n = (this.perSession.get(sid) ?? 1) - 1;
    if (n <= 0) this.perSession.delete(sid);
    else this.perSession.set(sid, n);
    this.heldBytes -= p.heldBytes;
    if (this.decided.size >= DECIDED_MAX) this.decided.delete(this.decided.keys().next().value!);
    this.decided.set(id, decision);
    if (fromHere) this.opts.fleet?.forget(id, decision);
    this.opts.onEvent?.({ kind: 'approval', type: decision, id, session_id: sid, tool: p.view.tool, at: Date.now() });
    p.resolve(decision);
  }

  /** Denies every pending hold (shutdown). */
  close(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, 'denied', null, true);
  }
}
