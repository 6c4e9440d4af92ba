// Approvals shared through Redis (fleet mode): a pending record per held call, and a decision
// published to every instance. The instance holding the call releases it when the message comes;
// after a reconnect it re-reads the state of the calls it still holds, so a decision published
// while it was away is not lost. Records outlive their timeout by RECORD_GRACE_MS so that a late
// decision still gets 409, not 404.
import { createClient } from 'redis';
import type { ApprovalView } from '../events.js';
import type { DecideResult, Decision, FleetApprovals } from './approvals.js';

type Client = ReturnType<typeof createClient>;

const RECORD_GRACE_MS = 600_000;
/**
 * While calls are held here, their records are also re-read this often: a subscriber connection
 * that is half-open (no error, no messages) would otherwise leave a decided call waiting.
 */
const RESYNC_MS = 5_000;

/** Decides a pending record once: KEYS record, pending set, channel; ARGV decision, now ms, id. */
const DECIDE = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'unknown' end
if st == 'expired' then return 'expired' end
if st ~= 'pending' then return 'decided' end
if tonumber(redis.call('HGET', KEYS[1], 'exp')) <= tonumber(ARGV[2]) then return 'expired' end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[3], ARGV[3] .. ' ' .. ARGV[1] .. ' ' .. redis.call('HGET', KEYS[1], 'hash'))
return 'ok'`;

/** A new pending record in one round trip: KEYS record, pending set; ARGV view, exp, hash, ttl, id. */
const STORE = `
redis.call('HSET', KEYS[1], 'view', ARGV[1], 'state', 'pending', 'exp', ARGV[2], 'hash', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
return 1`;

/** The holder resolved a call itself (timeout, client gone): the record says so, if still pending. */
const FORGET = `
if redis.call('HGET', KEYS[1], 'state') == 'pending' then redis.call('HSET', KEYS[1], 'state', ARGV[1]) end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

export interface RedisApprovalsOptions {
  url: string;
  prefix?: string;
  commandTimeoutMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

export class RedisApprovals implements FleetApprovals {
  private readonly cmd: Client;
  private readonly sub: Client;
  private readonly p: string;
  private readonly channel: string;
  private readonly timeoutMs: number;
  private listener: ((id: string, decision: Decision, hash: string) => void) | null = null;
  private localIds: () => string[] = () => [];
  private subscribed = false;
  private closed = false;
  private resyncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: RedisApprovalsOptions) {
    this.p = `${opts.prefix ?? 'cordon:'}appr:`;
    this.channel = `${this.p}decided`;
    this.timeoutMs = opts.commandTimeoutMs ?? 2_000;
    const reconnectStrategy = (retries: number): number => Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 100);
    this.cmd = createClient({ url: opts.url, RESP: 2, disableOfflineQueue: true, socket: { reconnectStrategy, connectTimeout: 2_000 } });
    this.sub = this.cmd.duplicate();
    for (const c of [this.cmd, this.sub]) c.on('error', (err: Error) => this.opts.log?.warn({ err: err.message }, 'approvals: redis error'));
    // node-redis re-subscribes before 'ready' after a reconnect: from then on messages flow, and
    // what was decided meanwhile is read back for the calls still held here.
    this.sub.on('ready', () => { if (this.subscribed) void this.resync(); });
  }

  /** Connects (bounded wait; it keeps retrying in the background). */
  async start(localIds: () => string[]): Promise<void> {
    this.localIds = localIds;
    const connecting = Promise.all([
      this.cmd.connect(),
      this.sub.connect().then(() => this.sub.subscribe(this.channel, (msg: string) => this.onMessage(msg))),
    ]).then(() => { this.subscribed = true; }, () => undefined);
    await Promise.race([connecting, new Promise<void>((r) => setTimeout(r, 2_000).unref())]);
    this.resyncTimer = setInterval(() => { if (this.subscribed && this.localIds().length > 0) void this.resync(); }, RESYNC_MS);
    this.resyncTimer.unref();
  }

  onDecision(fn: (id: string, decision: Decision, hash: string) => void): void {
    this.listener = fn;
  }

  publish(view: ApprovalView, ttlMs: number): Promise<void> {
    const exp = Date.parse(view.expires_at);
    return this.call(['EVAL', STORE, '2', this.p + view.id, `${this.p}pending`, JSON.stringify(view), String(exp), view.call_sha256, String(ttlMs + RECORD_GRACE_MS), view.id])
      .then(() => undefined, (err: Error) => {
        this.opts.log?.warn({ id: view.id, err: err.message }, 'approvals: record not stored; only this instance can decide it');
        throw err;
      });
  }

  async decide(id: string, decision: 'approved' | 'denied'): Promise<DecideResult> {
    const r = await this.call(['EVAL', DECIDE, '3', this.p + id, `${this.p}pending`, this.channel, decision, String(Date.now()), id]);
    return r as DecideResult;
  }

  async list(): Promise<ApprovalView[]> {
    const now = Date.now();
    await this.call(['ZREMRANGEBYSCORE', `${this.p}pending`, '-inf', String(now)]);
    const ids = (await this.call(['ZRANGEBYSCORE', `${this.p}pending`, String(now), '+inf', 'LIMIT', '0', '1000'])) as string[];
    const out: ApprovalView[] = [];
    for (const id of ids) {
      const [view, state] = (await this.call(['HMGET', this.p + id, 'view', 'state'])) as Array<string | null>;
      if (view === null || state !== 'pending') continue;
      try { out.push(JSON.parse(view) as ApprovalView); } catch { /* a record this version did not write */ }
    }
    return out;
  }

  forget(id: string, decision: Decision): void {
    this.call(['EVAL', FORGET, '2', this.p + id, `${this.p}pending`, decision, id]).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.resyncTimer !== null) clearInterval(this.resyncTimer);
    for (const c of [this.sub, this.cmd]) {
      try { c.destroy(); } catch { /* already closed */ }
    }
  }

  private onMessage(msg: string): void {
    const [id, decision, hash] = msg.split(' ');
    if (id && hash && (decision === 'approved' || decision === 'denied')) this.listener?.(id, decision, hash);
  }

  private async resync(): Promise<void> {
    for (const id of this.localIds()) {
      try {
        const [state, hash] = (await this.call(['HMGET', this.p + id, 'state', 'hash'])) as Array<string | null>;
        if ((state === 'approved' || state === 'denied') && hash) this.listener?.(id, state, hash);
      } catch { /* down again: the next ready re-reads */ }
    }
  }

  private call(args: string[]): Promise<unknown> {
    return this.cmd.sendCommand(args, { timeout: this.timeoutMs });
  }
}
