// Deletes stale session hashes from Redis, in bounded steps, on one instance at a time. Session
// hashes carry no per-key TTL (an expire costs ~50B per key in Redis, more than the rest of the
// hash; see FLUSH in scripts.ts), so this is how they go away. Kept apart from redis.ts because it
// is a job of its own with its own timer, cursor and lock; RedisFleet only starts and stops it.
import { SWEEP, type Script } from './scripts.js';

export interface SweeperOptions {
  /** key prefix (`cordon:` by default) */
  prefix: string;
  /** this process run's unique name, the value of the lock */
  runId: string;
  /** a session hash is deleted once it was last seen this long ago */
  ttlMs: number;
  /** how often one step runs (the lock expires after 5 of them) */
  intervalMs: number;
  /** the RedisFleet counter this class adds to (the same object RedisFleet reports in stats()) */
  counters: { swept_sessions: number };
  /** whether a step may run now: Redis usable and the fleet not closed */
  live(): boolean;
  call(args: string[]): Promise<unknown>;
  evalScript(s: Script, keys: string[], args: string[]): Promise<unknown>;
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private cursor = '0';
  private sweeping = false;

  constructor(private readonly opts: SweeperOptions) {}

  start(): void {
    this.timer = setInterval(() => { void this.step(); }, this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * One bounded step of deleting stale session hashes (instead of a per-key TTL, see FLUSH).
   * One instance at a time does it, under a lock that expires if that instance dies.
   */
  private async step(): Promise<void> {
    if (!this.opts.live() || this.sweeping) return;
    this.sweeping = true;
    try {
      const lockKey = this.opts.prefix + 'sweep';
      const lockMs = String(this.opts.intervalMs * 5);
      const got = await this.opts.call(['SET', lockKey, this.opts.runId, 'NX', 'PX', lockMs]);
      if (got !== 'OK') {
        if (await this.opts.call(['GET', lockKey]) !== this.opts.runId) return;
        await this.opts.call(['PEXPIRE', lockKey, lockMs]);
      }
      const cutoff = Math.floor((Date.now() - this.opts.ttlMs) / 1000);
      const [after, n] = await this.opts.evalScript(SWEEP, [], [this.cursor, this.opts.prefix + 's:*', '1000', String(cutoff)]) as [string, number];
      this.cursor = after;
      this.opts.counters.swept_sessions += Number(n);
    } catch {
      // the connection events report Redis trouble; the next step retries
    } finally {
      this.sweeping = false;
    }
  }
}
