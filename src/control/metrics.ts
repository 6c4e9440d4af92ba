// Prometheus metrics for /metrics, in a Registry of our own (never prom-client's global one, so
// two gateways in one process or a test never share counters).
//
// Two kinds of metric live here:
// - hot counters and histograms (requests, latency, policy hits, kills, rejections) that the
//   proxy bumps on every request. They are plain typed-array cells indexed by small integers,
//   so the hot path costs an array increment, no label hashing and no allocation; they turn
//   into Prometheus series only when scraped (see ./metrics/collectors.ts);
// - gauges read at scrape time from getters that the owning parts register (sessions, memory,
//   storage, upstreams, fleet). Each getter returns an aggregate the part already keeps, so a
//   scrape never walks per-session state: its cost does not grow with the session count.
//
// Label cardinality is bounded by construction: status codes are 100-599, upstreams come from
// the configured pool, rule names from the loaded policy (capped), components and levels from
// fixed lists. A session ID is never a label.
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Router } from './router.js';
import type { EventBus, GatewayEvent, RuleAction } from '../events.js';
import {
  LabeledCounterCells, HistogramCells, GetterMetric, GetterVec, type LabeledValues, ADDED_LATENCY_BUCKETS, UPSTREAM_LATENCY_BUCKETS,
} from './metrics/collectors.js';

import { LEVELS as PRESSURE_LEVELS } from '../memory/types.js';
import { PROXY_ERROR_TYPES, type ProxyErrorType } from '../errors/catalog.js';
import type { MemorySnapshot as GovernorSnapshot } from '../memory/governor.js';

/** Why the gateway answered a request itself: the catalog's error types (errors/catalog.ts), a fixed, bounded set. */
export const REJECTION_TYPES = PROXY_ERROR_TYPES;
export type RejectionType = ProxyErrorType;

export type KillSource = 'operator' | 'rule' | 'fleet';
const KILL_SOURCES: readonly KillSource[] = ['operator', 'rule', 'fleet'];
const ACTIONS: readonly RuleAction[] = ['flag', 'block', 'redact', 'terminate', 'hold'];
const SESSION_EVENT_TYPES = ['started', 'killed', 'resumed', 'terminated', 'idle', 'completed'] as const;

/** What memory/ reports (the /control/memory document); metrics read these figures of it. */
export type MemorySnapshot = Pick<GovernorSnapshot, 'pressure' | 'components'> & Partial<Pick<GovernorSnapshot, 'rss_bytes' | 'heap_used_bytes' | 'limit_bytes'>>;

export interface FleetSnapshot {
  /** `local` when no Redis is configured */
  mode: 'local' | 'redis';
  /** false while Redis is unreachable (the instance serves on local state) */
  connected: boolean;
  /** instances seen alive in the fleet, when known */
  instances?: number;
}

/**
 * Getters the owning parts register once at wiring time. Every one returns an aggregate the part
 * already maintains; none may iterate sessions. All are optional: a missing part has no series.
 */
export interface MetricSources {
  sessionsActive?: () => number;
  /** sessions per state, e.g. { active, idle, killed } */
  sessionsByState?: () => Partial<Record<string, number>>;
  streamsActive?: () => number;
  websocketsActive?: () => number;
  memory?: () => MemorySnapshot;
  storageQueueDepth?: () => number;
  /** monotonic total of events the storage queue dropped */
  storageDropped?: () => number;
  /** monotonic total of events written to storage */
  storageWritten?: () => number;
  /** health per upstream index (same order as setUpstreams) */
  upstreamHealthy?: () => ArrayLike<boolean | number>;
  /** in-flight requests per upstream index */
  upstreamOutstanding?: () => ArrayLike<number>;
  fleet?: () => FleetSnapshot;
}

export interface MetricsOptions {
  /** names of the upstreams in pool order (e.g. their origins); index -1 is reported as `none` */
  upstreams?: readonly string[];
  /** include prom-client's process/Node.js metrics, prefixed `cordon_` (default true) */
  processMetrics?: boolean;
  /** most distinct rule names kept as labels; later ones count under `_other` (default 512) */
  maxRules?: number;
}

const MIN_CODE = 100;
const CODE_SLOTS = 500; // 100..599
const OTHER_RULE = '_other';

export class Metrics {
  readonly registry = new Registry();
  private upstreamNames: string[];
  /** [upstreamSlot * CODE_SLOTS + (code - 100)]; upstreamSlot 0 = none, i+1 = upstream i */
  private readonly requests: LabeledCounterCells;
  private readonly added: HistogramCells;
  private readonly upstreamTime: HistogramCells;
  private readonly ruleIndex = new Map<string, number>();
  private readonly rules: string[] = [];
  private readonly maxRules: number;
  private readonly policyHits: LabeledCounterCells;
  private readonly kills: LabeledCounterCells;
  private readonly rejections: LabeledCounterCells;
  private readonly sessionEvents: LabeledCounterCells;

  constructor(opts: MetricsOptions = {}) {
    this.upstreamNames = [...(opts.upstreams ?? [])];
    this.maxRules = opts.maxRules ?? 512;
    const upstreamLabel = (slot: number): string => (slot === 0 ? 'none' : this.upstreamNames[slot - 1] ?? String(slot - 1));

    this.requests = new LabeledCounterCells({
      name: 'cordon_requests_total',
      help: 'Requests answered, by status code, status class and upstream (none = answered by the gateway itself).',
      labelNames: ['code', 'class', 'upstream'],
      initialCells: (this.upstreamNames.length + 1) * CODE_SLOTS,
      labelsOf: (cell) => {
        const code = MIN_CODE + (cell % CODE_SLOTS);
        return [String(code), `${Math.floor(code / 100)}xx`, upstreamLabel(Math.floor(cell / CODE_SLOTS))];
      },
    });
    this.added = new HistogramCells({
      name: 'cordon_request_added_latency_seconds',
      help: 'Time the gateway itself added to a request (total time minus time waiting on the upstream).',
      buckets: ADDED_LATENCY_BUCKETS,
      labelNames: [],
      series: 1,
      labelsOf: () => [],
    });
    this.upstreamTime = new HistogramCells({
      name: 'cordon_upstream_latency_seconds',
      help: 'Time spent on the upstream, from dispatch to the end of its response, by upstream.',
      buckets: UPSTREAM_LATENCY_BUCKETS,
      labelNames: ['upstream'],
      series: this.upstreamNames.length + 1,
      labelsOf: (s) => [upstreamLabel(s)],
    });
    this.policyHits = new LabeledCounterCells({
      name: 'cordon_policy_hits_total',
      help: 'Policy rule hits by rule and the action taken (in audit mode blocks are recorded as flag).',
      labelNames: ['rule', 'action'],
      initialCells: 16 * ACTIONS.length,
      labelsOf: (cell) => [this.rules[Math.floor(cell / ACTIONS.length)], ACTIONS[cell % ACTIONS.length]],
    });
    this.kills = new LabeledCounterCells({
      name: 'cordon_kills_total',
      help: 'Sessions killed, by who killed them (operator, rule = terminate action, fleet = another instance).',
      labelNames: ['source'],
      initialCells: KILL_SOURCES.length,
      labelsOf: (cell) => [KILL_SOURCES[cell]],
    });
    this.rejections = new LabeledCounterCells({
      name: 'cordon_rejections_total',
      help: 'Requests the gateway answered itself with an error, by error type.',
      labelNames: ['type'],
      initialCells: REJECTION_TYPES.length,
      labelsOf: (cell) => [REJECTION_TYPES[cell]],
    });
    this.sessionEvents = new LabeledCounterCells({
      name: 'cordon_session_events_total',
      help: 'Session lifecycle events seen on the event bus, by type.',
      labelNames: ['type'],
      initialCells: SESSION_EVENT_TYPES.length,
      labelsOf: (cell) => [SESSION_EVENT_TYPES[cell]],
    });
    for (const m of [this.requests, this.added, this.upstreamTime, this.policyHits, this.kills, this.rejections, this.sessionEvents]) {
      this.registry.registerMetric(m as never);
    }
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'cordon_' });
  }

  /** Names the upstreams (pool order). Call again if the pool changes; counters are kept. */
  setUpstreams(names: readonly string[]): void {
    this.upstreamNames = [...names];
    this.upstreamTime.ensureSeries(names.length + 1);
  }

  // ---- hot path: array increments only ----

  /**
   * One finished request. `upstreamIndex` is the pool index, or -1 when no upstream answered
   * (the gateway replied itself). `addedMs` is the gateway's own time, `upstreamMs` the time
   * spent on the upstream (pass a negative value when there was none).
   */
  requestDone(statusCode: number, upstreamIndex: number, addedMs: number, upstreamMs: number): void {
    // HTTP has no status outside 100-599; should one arrive it counts as 599 rather than vanish
    const code = statusCode >= MIN_CODE && statusCode < MIN_CODE + CODE_SLOTS ? statusCode - MIN_CODE : CODE_SLOTS - 1;
    const slot = upstreamIndex >= 0 ? upstreamIndex + 1 : 0;
    this.requests.inc(slot * CODE_SLOTS + code);
    if (addedMs >= 0) this.added.observe(0, addedMs / 1000);
    if (upstreamMs >= 0) this.upstreamTime.observe(slot, upstreamMs / 1000);
  }

  /** A rule hit. `action` is what was done (flag in audit mode). */
  policyHit(rule: string, action: RuleAction): void {
    let i = this.ruleIndex.get(rule);
    if (i === undefined) i = this.addRule(rule);
    this.policyHits.inc(i * ACTIONS.length + Math.max(0, ACTIONS.indexOf(action)));
  }

  kill(source: KillSource = 'operator'): void {
    this.kills.inc(source === 'operator' ? 0 : source === 'rule' ? 1 : 2);
  }

  /** The gateway answered a request itself with this SPEC.md error type. */
  rejected(type: RejectionType): void {
    const i = REJECTION_TYPES.indexOf(type);
    if (i >= 0) this.rejections.inc(i);
  }

  /**
   * Counts kills and session lifecycle events from the bus: `killed` → kills{source="operator"},
   * `terminated` → kills{source="rule"}, either made on another instance (origin `fleet`, set by
   * the SessionGate) → kills{source="fleet"}. Policy hits are
   * not counted here (the proxy calls policyHit), so nothing is counted twice. Returns the unsubscribe.
   */
  attachBus(bus: EventBus): () => void {
    return bus.subscribe(this.onBusEvent);
  }

  private readonly onBusEvent = (ev: GatewayEvent): void => {
    if (ev.kind !== 'session') return;
    const i = SESSION_EVENT_TYPES.indexOf(ev.type);
    if (i >= 0) this.sessionEvents.inc(i);
    const fromFleet = ev.origin === 'fleet';
    if (ev.type === 'killed') this.kill(fromFleet || ev.reason === 'fleet' ? 'fleet' : 'operator');
    else if (ev.type === 'terminated') this.kill(fromFleet ? 'fleet' : 'rule');
  };

  private addRule(rule: string): number {
    // past maxRules distinct names, every new name shares one `_other` series
    const name = this.rules.length < this.maxRules ? rule : OTHER_RULE;
    let i = this.ruleIndex.get(name);
    if (i === undefined) {
      i = this.rules.length;
      this.rules.push(name);
      this.ruleIndex.set(name, i);
    }
    return i;
  }

  // ---- scrape-time gauges from getters ----

  /** A gauge read from `get` at scrape time. A getter that throws or returns undefined/NaN gives no sample. */
  gauge(name: string, help: string, get: () => number | undefined): void {
    this.register(new GetterMetric('gauge', name, help, get));
  }

  /** A gauge with one label, read from `get` at scrape time (bounded key sets only: never session IDs). */
  gaugeVec(name: string, help: string, label: string, get: () => LabeledValues | undefined): void {
    this.register(new GetterVec(name, help, label, get));
  }

  /** A counter whose running total another part keeps (e.g. storage drops), read at scrape time. */
  counterFrom(name: string, help: string, get: () => number | undefined): void {
    this.register(new GetterMetric('counter', name, help, get));
  }

  /** Registers the standard gateway gauges from the parts' getters (see MetricSources). */
  bind(src: MetricSources): void {
    if (src.sessionsActive) this.gauge('cordon_sessions_active', 'Sessions in the active state.', src.sessionsActive);
    if (src.sessionsByState) this.gaugeVec('cordon_sessions', 'Sessions held, by state.', 'state', src.sessionsByState);
    if (src.streamsActive) this.gauge('cordon_streams_active', 'Responses streaming through the gateway now.', src.streamsActive);
    if (src.websocketsActive) this.gauge('cordon_websockets_active', 'Open proxied WebSocket connections.', src.websocketsActive);
    const memory = src.memory;
    if (memory) {
      this.gaugeVec('cordon_memory_bytes', 'Bytes attributed to each component (unattributed = RSS minus the rest).', 'component', () => {
        const out: [string, number][] = [];
        for (const [k, c] of Object.entries(memory().components)) out.push([k, c.bytes]);
        return out;
      });
      this.gauge('cordon_memory_rss_bytes', 'Resident set size as sampled by the memory governor.', () => memory().rss_bytes);
      this.gauge('cordon_memory_limit_bytes', 'The global memory budget.', () => memory().limit_bytes);
      this.gauge('cordon_memory_pressure_level', 'Memory pressure: 0 normal, 1 warning, 2 critical.', () => PRESSURE_LEVELS.indexOf(memory().pressure));
      this.gaugeVec('cordon_memory_pressure', 'Memory pressure as a state set: 1 for the current level.', 'level', () => {
        const p = memory().pressure;
        return PRESSURE_LEVELS.map((l): [string, number] => [l, l === p ? 1 : 0]);
      });
    }
    if (src.storageQueueDepth) this.gauge('cordon_storage_queue_depth', 'Events waiting to be written to storage.', src.storageQueueDepth);
    if (src.storageDropped) this.counterFrom('cordon_storage_dropped_total', 'Events the storage queue dropped because it was full.', src.storageDropped);
    if (src.storageWritten) this.counterFrom('cordon_storage_written_total', 'Events written to storage.', src.storageWritten);
    const healthy = src.upstreamHealthy;
    if (healthy) {
      this.gaugeVec('cordon_upstream_healthy', 'Upstream health: 1 healthy, 0 ejected.', 'upstream', () => this.perUpstream(healthy()));
    }
    const outstanding = src.upstreamOutstanding;
    if (outstanding) {
      this.gaugeVec('cordon_upstream_outstanding', 'Requests in flight per upstream.', 'upstream', () => this.perUpstream(outstanding()));
    }
    const fleet = src.fleet;
    if (fleet) {
      this.gaugeVec('cordon_fleet_mode', 'Fleet mode as a state set (local or redis).', 'mode', () => {
        const m = fleet().mode;
        return [['local', m === 'local' ? 1 : 0], ['redis', m === 'redis' ? 1 : 0]];
      });
      this.gauge('cordon_fleet_connected', 'Whether the shared store (Redis) is reachable: 1 yes, 0 no (local is always 1).', () => (fleet().connected ? 1 : 0));
      this.gauge('cordon_fleet_instances', 'Gateway instances seen alive in the fleet.', () => fleet().instances);
    }
  }

  /** The Prometheus text exposition. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private perUpstream(values: ArrayLike<boolean | number>): [string, number][] {
    const out: [string, number][] = [];
    for (let i = 0; i < values.length; i++) out.push([this.upstreamNames[i] ?? String(i), Number(values[i])]);
    return out;
  }

  private register(m: object): void {
    this.registry.registerMetric(m as never);
  }
}

/** GET /metrics on the control listener (auth is the control server's, as for every route). */
export function registerMetricsRoute(router: Router, metrics: Metrics): void {
  router.get('/metrics', async ({ res }) => {
    let text: string;
    try {
      text = await metrics.scrape();
    } catch {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('# metrics collection failed\n');
      return;
    }
    res.writeHead(200, {
      'content-type': metrics.contentType,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
  });
}
