// The two connections of a RedisFleet (redis.ts): one for commands, one subscribed to the kill
// channel, both reconnecting forever; and the calls made on the first (bounded by a timeout,
// scripts by SHA). Connection events go to the fleet, which decides what "synced" means.
import { createClient } from 'redis';
import type { Script } from './scripts.js';

type Client = ReturnType<typeof createClient>;

export interface LinkEvents {
  onError(err: Error): void;
  onReady(): void;
  onDown(why: string): void;
}

export class RedisLink {
  private readonly cmd: Client;
  private readonly sub: Client;

  constructor(url: string, private readonly timeoutMs: number, events: LinkEvents) {
    // Exponential backoff from 50ms to 2s with jitter, forever: a gateway never gives up on its fleet.
    const reconnectStrategy = (retries: number): number =>
      Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 100);
    this.cmd = createClient({
      url,
      RESP: 2,
      // Commands fail at once while disconnected instead of queueing without bound: the fleet
      // buffers what it must itself (deltas, kill operations) and bounds it.
      disableOfflineQueue: true,
      socket: { reconnectStrategy, connectTimeout: 2_000 },
    });
    this.sub = this.cmd.duplicate();
    for (const c of [this.cmd, this.sub]) {
      c.on('error', (err: Error) => events.onError(err));
      c.on('ready', () => events.onReady());
      c.on('end', () => events.onDown('connection closed'));
      c.on('reconnecting', () => events.onDown('reconnecting'));
    }
  }

  /** both connections are up */
  get ready(): boolean { return this.cmd.isReady && this.sub.isReady; }

  /** Connects both (retrying with the strategy above); resolves once `channel` is subscribed. */
  connect(channel: string, onMessage: (msg: string) => void): Promise<unknown> {
    return Promise.all([
      this.cmd.connect(),
      this.sub.connect().then(() => this.sub.subscribe(channel, onMessage)),
    ]);
  }

  call(args: string[]): Promise<unknown> {
    return this.cmd.sendCommand(args, { timeout: this.timeoutMs });
  }

  /** EVALSHA, and EVAL (which also caches the script) when Redis does not know it, e.g. after a restart. */
  async evalScript(s: Script, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.call(['EVALSHA', s.sha, ...tail]);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return await this.call(['EVAL', s.source, ...tail]);
    }
  }

  destroy(): void {
    for (const c of [this.sub, this.cmd]) {
      try { c.destroy(); } catch { /* already closed */ }
    }
  }
}
