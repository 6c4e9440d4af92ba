// The upstream pool: one undici Pool per backend, passive health (outlier.ts: eject after consecutive
// gateway failures, back after a cool-off that grows), an optional active check, and the balancing policies.
import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

// undici's Pool alone: its index also loads fetch, WebSocket, EventSource, caches and mocks, which
// cost ~5 MiB of idle RSS (86.5 → 80.6 MiB, BENCHMARKS.md "idle floor") and are never used here.
const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;
/**
 * What a paused upstream socket buffers before node stops reading it (undici's default is 64 KiB; TLS
 * sockets have 16 KiB anyway): a stream paused for a slow reader holds this plus one read.
 */
const UPSTREAM_READ_BUFFER = 16 * 1024;
import type { Balance, Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { NO_SESSION, OutlierDetector, type OutlierFields } from './outlier.js';
import { interimConnector } from './interim.js';
import { operatorCredential } from '../auth/upstream-auth.js';
import type { UpstreamCredential } from './headers.js';

export class Upstream implements OutlierFields {
  readonly pool: Pool;
  readonly origin: string;
  /** the URL's path without a trailing slash: "" or "/v1" */
  readonly basePath: string;
  readonly name: string;
  readonly host: string;
  outstanding = 0;
  failures = 0;
  hardFailures = 0;
  /** epoch ms until which the upstream is out of rotation; 0 when in */
  ejectedUntil = 0;
  ejections = 0;
  lastEjectedAt = 0;
  streakSession = NO_SESSION;
  streakShared = false;
  /** smooth weighted round-robin state (nginx's algorithm) */
  currentWeight = 0;
  /** `upstreams[].model`: the model this upstream is asked for instead of the request's */
  model: string | undefined = undefined;
  /** the operator's credential for this upstream (api_key_env), sent in place of the client's */
  credential: UpstreamCredential | null = null;

  constructor(readonly index: number, url: URL, public weight: number, cfg: Config) {
    this.origin = url.origin;
    this.host = url.host;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.name = url.href.replace(/\/+$/, '');
    // highWaterMark is passed on to net.connect (undici's types do not list it)
    const connectOpts = { timeout: cfg.timeouts.connect, rejectUnauthorized: cfg.upstream_pool.tls_verify, highWaterMark: UPSTREAM_READ_BUFFER };
    this.pool = new Pool(url.origin, {
      connections: cfg.upstream_pool.connections === 0 ? null : cfg.upstream_pool.connections,
      pipelining: cfg.upstream_pool.pipelining,
      keepAliveTimeout: cfg.timeouts.keep_alive,
      keepAliveMaxTimeout: Math.max(cfg.timeouts.keep_alive, 600_000),
      headersTimeout: cfg.timeouts.headers,
      bodyTimeout: cfg.timeouts.body,
      // pipelining 1 (the default): a connector that drops unsolicited 100 Continue heads (interim.ts)
      connect: cfg.upstream_pool.pipelining === 1 ? interimConnector(connectOpts) : connectOpts,
    });
  }

  healthy(now: number): boolean {
    return this.ejectedUntil <= now;
  }

  /**
   * The path to request upstream: the upstream's base path is a prefix that is not doubled.
   * With base "/v1": "/chat/completions" and "/v1/chat/completions" both become "/v1/chat/completions".
   */
  targetPath(path: string): string {
    const base = this.basePath;
    if (base === '') return path;
    if (path.startsWith(base) && (path.length === base.length || path[base.length] === '/' || path[base.length] === '?')) return path;
    return base + path;
  }
}

export class UpstreamSet {
  /** the upstreams in rotation, in config order; replaced whole by a reload (reconfigure) */
  list: Upstream[];
  /** every upstream's name by its index, append-only: indices stay valid across reloads */
  readonly names: string[];
  private rr = 0;
  private readonly ejectAfter: number;
  private readonly outlier: OutlierDetector;
  private healthTimer: NodeJS.Timeout | null = null;

  constructor(cfg: Config, private readonly log: Logger) {
    this.list = cfg.upstreams.map((u, i) => new Upstream(i, u.url, u.weight, cfg));
    for (let i = 0; i < this.list.length; i++) this.list[i].model = cfg.upstreams[i].model;
    this.names = this.list.map((u) => u.name);
    cfg.upstreams.forEach((u, i) => { this.list[i].credential = operatorCredential(u); });
    this.balance = cfg.balance;
    this.ejectAfter = cfg.health.eject_after;
    this.outlier = new OutlierDetector(cfg.health.eject_after, cfg.health.cooloff, Math.max(cfg.health.cooloff, cfg.health.max_cooloff), log);
  }

  balance: Balance;

  /**
   * A config reload: an upstream still listed keeps its pool, health and index (weight and model
   * follow the file); a new one gets the next index; a removed one leaves rotation at once and its
   * pool closes once the requests on it have finished (undici's close waits for them).
   */
  reconfigure(cfg: Config): void {
    const old = new Map(this.list.map((u) => [u.name, u]));
    const next: Upstream[] = [];
    for (const e of cfg.upstreams) {
      const name = e.url.href.replace(/\/+$/, '');
      let u = old.get(name);
      if (u !== undefined) old.delete(name);
      else {
        u = new Upstream(this.names.length, e.url, e.weight, cfg);
        this.names.push(u.name);
      }
      u.weight = e.weight;
      u.model = e.model;
      u.credential = operatorCredential(e);
      u.currentWeight = 0;
      next.push(u);
    }
    this.list = next;
    this.balance = cfg.balance;
    for (const u of old.values()) {
      this.log.info({ upstream: u.name, in_flight: u.outstanding }, 'upstream removed by reload; its pool closes when its requests end');
      u.pool.close().catch(() => undefined);
    }
  }

  /** per index (names' order): 1 healthy, 0 not or no longer listed */
  healthByIndex(now: number): number[] {
    const out = new Array<number>(this.names.length).fill(0);
    for (const u of this.list) out[u.index] = u.healthy(now) ? 1 : 0;
    return out;
  }

  /** per index (names' order): requests in flight */
  outstandingByIndex(): number[] {
    const out = new Array<number>(this.names.length).fill(0);
    for (const u of this.list) out[u.index] = u.outstanding;
    return out;
  }

  /**
   * Picks an upstream for a request. `stickyKey` is a hash of the session ID (used by `sticky`);
   * `exclude` skips one upstream (a retry after a connect failure). With every upstream ejected it
   * routes to all (Envoy's panic mode); null only when `exclude` was the one upstream.
   */
  pick(now: number, stickyKey: number, exclude: Upstream | null): Upstream | null {
    const u = this.pickHealthy(now, stickyKey, exclude);
    if (u !== null) return u;
    const n = this.list.length;
    const start = this.balance === 'sticky' ? stickyKey % n : this.rr++ % n;
    for (let k = 0; k < n; k++) {
      const p = this.list[(start + k) % n];
      if (p !== exclude) return p;
    }
    return null;
  }

  private pickHealthy(now: number, stickyKey: number, exclude: Upstream | null): Upstream | null {
    const list = this.list;
    const n = list.length;
    if (n === 1) {
      const u = list[0];
      return u !== exclude && u.healthy(now) ? u : null;
    }
    switch (this.balance) {
      case 'least_outstanding': {
        let best: Upstream | null = null;
        const start = this.rr++ % n; // rotate the tie-break so equal loads still spread
        for (let k = 0; k < n; k++) {
          const u = list[(start + k) % n];
          if (u === exclude || !u.healthy(now)) continue;
          if (best === null || u.outstanding < best.outstanding) best = u;
        }
        return best;
      }
      case 'weighted': {
        let total = 0;
        let best: Upstream | null = null;
        for (const u of list) {
          if (u === exclude || !u.healthy(now)) continue;
          u.currentWeight += u.weight;
          total += u.weight;
          if (best === null || u.currentWeight > best.currentWeight) best = u;
        }
        if (best !== null) best.currentWeight -= total;
        return best;
      }
      case 'sticky': {
        // Rendezvous-free and cheap: the session's hash picks a start, the first healthy one wins,
        // so a session stays on one upstream while that upstream is healthy.
        const start = stickyKey % n;
        for (let k = 0; k < n; k++) {
          const u = list[(start + k) % n];
          if (u !== exclude && u.healthy(now)) return u;
        }
        return null;
      }
      default: {
        for (let k = 0; k < n; k++) {
          const u = list[this.rr++ % n];
          if (u !== exclude && u.healthy(now)) return u;
        }
        return null;
      }
    }
  }

  /**
   * Any upstream in rotation and reachable (for /readyz): the last one is never ejected, so a run
   * of connect failures (not a client's 5xx answers) is what makes a pool unready.
   */
  anyHealthy(now = Date.now()): boolean {
    for (const u of this.list) if (u.healthy(now) && u.hardFailures < this.ejectAfter) return true;
    return false;
  }

  /** An answer that is not a gateway failure (any status but 502/503/504). */
  succeeded(u: Upstream, now = Date.now()): void {
    this.outlier.succeeded(u, now);
  }

  /**
   * A gateway failure. `session` is the request's session hash (hashId) when the request may have
   * caused it (a 502/503/504, a timeout, a reset); NO_SESSION when the backend was not reached.
   */
  failed(u: Upstream, now: number, reason: string, session = NO_SESSION): void {
    this.outlier.failed(u, this.list, now, reason, session);
  }

  /** Optional active check: GET `path` on each upstream every `interval`; 2xx/3xx/4xx count as alive. */
  startActiveChecks(path: string, interval: number): void {
    const tick = (): void => {
      const now = Date.now();
      for (const u of this.list) {
        u.pool.request({ method: 'GET', path: u.targetPath(path), headersTimeout: interval, bodyTimeout: interval })
          .then(async (r) => {
            await r.body.dump();
            if (r.statusCode < 500) this.succeeded(u, Date.now());
            else this.failed(u, now, `active check answered ${r.statusCode}`);
          })
          .catch((err: Error) => this.failed(u, now, `active check: ${err.message}`));
      }
    };
    this.healthTimer = setInterval(tick, interval);
    this.healthTimer.unref();
  }

  stats(): Array<{ name: string; healthy: boolean; outstanding: number; failures: number }> {
    const now = Date.now();
    return this.list.map((u) => ({ name: u.name, healthy: u.healthy(now), outstanding: u.outstanding, failures: u.failures }));
  }

  async close(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.allSettled(this.list.map((u) => u.pool.close()));
  }

  async destroy(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.allSettled(this.list.map((u) => u.pool.destroy()));
  }
}
