// Config reload (SIGHUP, POST /control/reload): the file is read and validated again, then every
// part that can change at run time builds what the new config needs (a part's `prepare`, off the
// request path: no request waits for it) and hands back a swap. Only when every part prepared
// are the swaps applied, one after the other in the same tick, so a request sees the old config
// or the new one, never a mix. A file that fails validation, or that a part refuses, changes
// nothing: the answer lists every problem as `path: message`. Reloads run one at a time.
//
// A part registers once (`register`); the `keys`, `tools`, `judge` and `limits` parts plug in
// the same way as the policy, upstreams and retries do (src/proxy/reconfigure.ts).
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { ConfigError } from './errors.js';
import type { Config } from './schema.js';

export type Swap = () => void;

export interface Reconfigurable {
  /**
   * Checks and builds what `next` needs; throws (or rejects) with ConfigError `path: message`
   * problems to refuse it. Returns the swap to apply, or null when nothing of this part changed.
   * Long work (compiling rules) is done asynchronously in slices, so requests keep flowing.
   */
  prepare(next: Config, prev: Config): Swap | null | Promise<Swap | null>;
}

/** The file read again: its config (flags and env still win over it) and its text (for the hash). */
export interface ConfigSource {
  read(): Promise<{ cfg: Config; text: string }>;
}

export type ReloadResult =
  | { ok: true; hash: string; reloads: number; changed: string[]; restart_required: string[]; prepare_ms: number; swap_ms: number; loop_delay_max_ms: number }
  | { ok: false; problems: string[] };

/** Settings read once at start: a reload that changes one says so, and leaves it as it was. */
const START_ONLY: ReadonlyArray<keyof Config> = [
  'listen', 'control_listen', 'data_dir', 'profile', 'memory_limit', 'redis', 'log_level', 'debug_endpoints',
  'storage', 'memory', 'fleet', 'tls', 'telemetry', 'upstream_pool', 'websocket', 'sessions', 'health',
];

export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export class Reloader {
  private readonly parts: Array<{ name: string; part: Reconfigurable }> = [];
  private running: Promise<ReloadResult> | null = null;
  private queued: Promise<ReloadResult> | null = null;
  /** reloads applied / refused since start */
  count = 0;
  failed = 0;
  hash: string;

  constructor(private cfg: Config, text: string, private readonly source: ConfigSource | null, private readonly log: Logger) {
    this.hash = configHash(text);
  }

  get current(): Config {
    return this.cfg;
  }

  register(name: string, part: Reconfigurable): void {
    this.parts.push({ name, part });
  }

  /**
   * One reload. Serialized: while one runs, a second waits for it and then runs once for every
   * caller that asked meanwhile (the file is read after the running one finished).
   */
  reload(): Promise<ReloadResult> {
    if (this.running === null) {
      this.running = this.run().finally(() => { this.running = null; });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = null;
      return this.reload();
    });
    return this.queued;
  }

  private async run(): Promise<ReloadResult> {
    if (this.source === null) return this.refuse(['no config file: start with --config FILE to reload']);
    let next: Config;
    let text: string;
    try {
      ({ cfg: next, text } = await this.source.read());
    } catch (err) {
      return this.refuse(err instanceof ConfigError ? err.problems : [String((err as Error)?.message ?? err)]);
    }
    const prev = this.cfg;
    // how long the event loop was held at a time while this reload ran (requests wait that long)
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const t0 = performance.now();
    const swaps: Array<{ name: string; swap: Swap }> = [];
    const problems: string[] = [];
    for (const { name, part } of this.parts) {
      try {
        const swap = await part.prepare(next, prev);
        if (swap !== null) swaps.push({ name, swap });
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.problems);
        else problems.push(`${name}: ${(err as Error)?.message ?? String(err)}`);
      }
    }
    if (problems.length > 0) {
      loop.disable();
      return this.refuse(problems);
    }
    // every part prepared: the swaps run in one tick, so a request sees all of the old or all of the new
    const t1 = performance.now();
    for (const s of swaps) s.swap();
    const t2 = performance.now();
    loop.disable();
    this.cfg = next;
    this.hash = configHash(text);
    this.count++;
    const restart = START_ONLY.filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(next[k]));
    const result: ReloadResult = {
      ok: true, hash: this.hash, reloads: this.count, changed: swaps.map((s) => s.name), restart_required: restart,
      prepare_ms: round(t1 - t0), swap_ms: round(t2 - t1), loop_delay_max_ms: round(loop.max / 1e6),
    };
    this.log.info({ ...result, ok: undefined }, 'config reloaded');
    if (restart.length > 0) this.log.warn({ keys: restart }, 'config reload: these settings take effect at the next start');
    return result;
  }

  private refuse(problems: string[]): ReloadResult {
    this.failed++;
    this.log.warn({ problems }, 'config reload refused; nothing changed');
    return { ok: false, problems };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
