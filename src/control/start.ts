// The control listener as the gateway starts it (gateway.ts): every part's routes, /metrics with
// each part's figures, readiness, and the server. Routes read the parts and act through them
// (kills and resumes through the SessionGate); the first registered route wins, so in Redis mode
// the fleet's session listings answer before the local ones.
import type { Server } from 'node:http';
import type { Config } from '../config/schema.js';
import type { Reloader } from '../config/reload.js';
import type { EventBus } from '../events.js';
import type { FleetState } from '../fleet/types.js';
import type { Logger } from '../log.js';
import type { Memory } from '../memory/setup.js';
import { registerMemoryMetrics } from '../memory/metrics.js';
import type { PolicyEngine } from '../policy/types.js';
import type { ProxyContext } from '../proxy/context.js';
import type { PolicyHolder } from '../proxy/reconfigure.js';
import type { WsRegistry } from '../proxy/websocket/registry.js';
import type { SessionGate } from '../sessions/gate.js';
import type { SessionTable } from '../sessions/table.js';
import type { KeysAndSpend } from '../spend/wire.js';
import type { Store } from '../storage/store.js';
import type { Tools } from '../tools/index.js';
import { registerFleetMetrics } from './metrics/fleet.js';
import { registerSpendMetrics } from './metrics/spend.js';
import { registerMetricsRoute, type Metrics } from './metrics.js';
import { makeOriginGuard } from './origin-guard.js';
import { Router } from './router.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { DASHBOARD_PUBLIC_PATHS, registerDashboardRoutes } from './routes/dashboard.js';
import { registerDebugRoutes } from './routes/debug.js';
import { registerEventStreamRoute } from './routes/events.js';
import { registerFleetRoutes, registerFleetSessionRoutes } from './routes/fleet.js';
import { registerHistoryRoutes } from './routes/history.js';
import { registerMemoryRoutes } from './routes/memory.js';
import { registerPolicyRoutes } from './routes/policy.js';
import { registerReloadRoute } from './routes/reload.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerStatsRoutes } from './routes/stats.js';
import { createControlServer } from './server.js';

/** The parts the control API reads and acts on. */
export interface ControlParts {
  cfg: Config;
  token: string | undefined;
  log: Logger;
  bus: EventBus;
  ctx: ProxyContext;
  store: Store;
  sessions: SessionTable;
  gate: SessionGate;
  fleet: FleetState;
  keys: KeysAndSpend;
  /** the engine at start, and the one in force now (a reload swaps it) */
  policy: PolicyEngine;
  policyNow: PolicyHolder;
  reloader: Reloader;
  tools: Tools;
  memory: Memory;
  metrics: Metrics;
  wsRegistry: WsRegistry;
}

export interface ControlPart {
  server: Server;
  /** the /control/events hub: its streams are closed at shutdown */
  eventStream: { close(): void };
}

export function createControl(p: ControlParts): ControlPart {
  const { cfg, ctx, store, sessions, gate, fleet, reloader, metrics, memory } = p;
  const { governor, streams } = memory;
  const { upstreams, inflight } = ctx;
  const router = new Router();
  const storedSession = (id: string) => {
    try {
      return store.session(id);
    } catch {
      return undefined; // storage unreadable: the live table is all we can answer from
    }
  };
  // Before the session routes (first registered wins): in Redis mode the listings answer
  // fleet-wide. Kill and resume go through the gate, which tells the fleet.
  registerFleetSessionRoutes(router, fleet, { local: (id) => sessions.get(id), stored: storedSession });
  registerFleetRoutes(router, fleet);
  p.keys.registerRoutes(router);
  registerSessionRoutes(router, sessions, { fallback: storedSession, end: (id, state) => gate.end(id, state, 'operator') });
  registerStatsRoutes(router, { sessions, requests: () => ctx.counters, pressure: () => governor.pressure });
  registerHistoryRoutes(router, store);
  registerPolicyRoutes(router, p.policy, { preset: cfg.policy.preset, mode: cfg.mode }, {
    engine: () => p.policyNow.engine, preset: () => reloader.current.policy.preset, mode: () => reloader.current.mode,
    reload: () => ({ count: reloader.count, hash: reloader.hash }),
  });
  registerReloadRoute(router, reloader);
  registerApprovalRoutes(router, p.tools.approvals);
  const eventStream = registerEventStreamRoute(router, p.bus);
  if (cfg.debug_endpoints) registerDebugRoutes(router);
  registerDashboardRoutes(router);
  registerMemoryRoutes(router, governor, streams);
  registerMetricsRoute(router, metrics);
  registerFleetMetrics(metrics.registry, fleet);
  registerSpendMetrics(metrics.registry, p.keys.spend);
  registerMemoryMetrics(metrics.registry, governor, streams);
  metrics.bind({
    memory: () => governor.snapshot(),
    sessionsActive: () => sessions.stats().active,
    sessionsByState: () => sessions.countsByState(),
    streamsActive: () => inflight.count,
    websocketsActive: () => p.wsRegistry.count(),
    storageQueueDepth: () => store.queueDepth,
    storageDropped: () => store.droppedTotal,
    storageWritten: () => store.writtenTotal,
    upstreamHealthy: () => upstreams.healthByIndex(Date.now()),
    upstreamOutstanding: () => upstreams.outstandingByIndex(),
  });

  const server = createControlServer({
    router, token: p.token, log: p.log,
    publicPaths: DASHBOARD_PUBLIC_PATHS,
    originGuard: makeOriginGuard({ boundHost: cfg.control_listen.host, allowedHosts: cfg.control.allowed_hosts }),
    notReady: () => {
      if (!upstreams.anyHealthy()) return 'no healthy upstream';
      const f = fleet.health();
      return f.ok || cfg.fleet.on_redis_down === 'serve' ? null : f.reason;
    },
    readyDetail: () => {
      const h = store.health();
      const f = fleet.health();
      // Write failures keep the gateway serving (SPEC: storage still open), so readiness stays
      // green and says storage is degraded; the queue counts what it drops meanwhile.
      // Likewise a lost Redis in `on_redis_down: serve` mode (in `refuse` mode notReady says it).
      return { storage: h.ok ? 'ok' : `degraded: ${h.reason}`, fleet: f.ok ? 'ok' : `degraded: ${f.reason}` };
    },
  });
  return { server, eventStream };
}
