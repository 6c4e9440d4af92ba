// The composition root: builds every part from one validated Config and wires them together.
// Parts depend downward (proxy → sessions, policy, memory; control → everything, read-only).
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { PROFILE_BOUNDS } from './config/profiles.js';
import { formatHostPort, type HostPort } from './config/units.js';
import { isLoopbackHost } from './control/auth.js';
import { EventBus } from './events.js';
import type { Logger } from './log.js';
import { Router } from './control/router.js';
import { createControlServer } from './control/server.js';
import { makeOriginGuard } from './control/origin-guard.js';
import { Metrics, registerMetricsRoute, type RejectionType } from './control/metrics.js';
import { DASHBOARD_PUBLIC_PATHS, registerDashboardRoutes } from './control/routes/dashboard.js';
import { registerDebugRoutes } from './control/routes/debug.js';
import { buildTlsServerOptions, guardTlsAccept } from './proxy/tls/index.js';
import { registerEventStreamRoute } from './control/routes/events.js';
import { registerHistoryRoutes } from './control/routes/history.js';
import { openStore } from './storage/index.js';
import { createPolicyEngine } from './policy/index.js';
import { registerPolicyRoutes } from './control/routes/policy.js';
import type { ProxyContext } from './proxy/context.js';
import { Inflight } from './proxy/inflight.js';
import { Uploads } from './proxy/uploads.js';
import { createProxyServer, drain } from './proxy/listener.js';
import { answerConnect } from './proxy/client-error.js';
import { UpstreamSet } from './proxy/upstreams.js';
import { createWsDeps } from './proxy/websocket/deps.js';
import { CONN_FIXED_BYTES, WsRegistry } from './proxy/websocket/registry.js';
import { handleUpgrade } from './proxy/websocket/relay.js';
import { SessionTable } from './sessions/table.js';
import { derivedSessionId, sessionIdFromJson, validSessionId } from './sessions/identity.js';
import { registerSessionRoutes } from './control/routes/sessions.js';
import { createFleet } from './fleet/index.js';
import { registerFleetRoutes, registerFleetSessionRoutes } from './control/routes/fleet.js';
import { registerFleetMetrics } from './control/metrics/fleet.js';
import { SessionGate } from './sessions/gate.js';
import { registerStatsRoutes } from './control/routes/stats.js';
import { registerMemoryRoutes } from './control/routes/memory.js';
import { createMemory, registerMemoryMetrics } from './memory/index.js';
import { createTracing } from './telemetry/index.js';
import { RetryRules } from './proxy/retry.js';
import { registerOperatingMetrics } from './control/metrics/operating.js';
import { Reloader, type ConfigSource } from './config/reload.js';
import { registerReloadRoute } from './control/routes/reload.js';
import { configPart, policyPart, retryPart, upstreamsPart, type PolicyHolder } from './proxy/reconfigure.js';
import { createTools, engineRules } from './tools/index.js';
import { registerApprovalRoutes } from './control/routes/approvals.js';
import { keysPart, sessionsOnly, wireKeysAndSpend } from './spend/wire.js';
import { registerSpendMetrics } from './control/metrics/spend.js';

/**
 * RSS an in-flight exchange costs on its upstream leg (socket, undici request state): bench:memory
 * measured 16.5-18.5KB per open SSE stream for both legs; the client leg is the other half.
 */
const UPSTREAM_LEG_BYTES = 8 * 1024;

/** client keep-alive and WebSocket idle limits while memory pressure is warning or worse */
const PRESSURE_KEEP_ALIVE_MS = 2_000;
const PRESSURE_WS_IDLE_S = 30;

/** A start-up problem the CLI reports as one line and exit 2. */
export class StartError extends Error {}

export interface GatewayOptions {
  log: Logger;
  /** CORDON_CONTROL_TOKEN, passed in by the CLI (nothing else reads the environment) */
  controlToken?: string;
  /** the config file's text at start, and how to read it again (SIGHUP, POST /control/reload) */
  configText?: string;
  configSource?: ConfigSource;
}

export interface Gateway {
  readonly proxyAddress: string;
  readonly controlAddress: string;
  readonly ctx: ProxyContext;
  /** SIGTERM: stop accepting, let in-flight work finish up to drain_timeout, close everything */
  shutdown(): Promise<void>;
  /** SIGHUP: re-read the config file (src/config/reload.ts) */
  readonly reloader: Reloader;
}

async function listen(server: Server, hp: HostPort, what: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'address already in use'
        : err.code === 'EACCES' ? 'permission denied'
          : err.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : err.message;
      reject(new StartError(`${what} ${formatHostPort(hp)}: ${why}`));
    };
    server.once('error', onError);
    server.listen(hp.port, hp.host, () => { server.off('error', onError); resolve(); });
  });
  return server.address() as AddressInfo;
}

export async function startGateway(cfg: Config, opts: GatewayOptions): Promise<Gateway> {
  const { log } = opts;
  const token = opts.controlToken || undefined;
  if (!isLoopbackHost(cfg.control_listen.host) && token === undefined) {
    throw new StartError(`control_listen ${formatHostPort(cfg.control_listen)}: a non-loopback control address needs CORDON_CONTROL_TOKEN`);
  }
  // A budget below what the process needs to start is refused: MemoryLimitError, one line, exit 2.
  const memory = createMemory(cfg, log);
  const { governor } = memory;
  // Rules compile first: a pattern RE2 cannot run in linear time is a ConfigError (exit 2).
  const policy = createPolicyEngine({ preset: cfg.policy.preset, rules: engineRules(cfg.policy.rules).filter((r) => r.metric !== 'cost_usd'), bounds: PROFILE_BOUNDS[cfg.profile], mode: cfg.mode, judge: cfg.policy.judge });
  const bus = new EventBus();
  // Storage first: a data dir that cannot be used is a start-up error (exit 2), before anything listens.
  const store = openStore({
    dataDir: cfg.data_dir, retentionMs: cfg.storage.retention, flushIntervalMs: cfg.storage.flush_interval,
    queueMax: cfg.storage.queue_max, profile: cfg.profile, log,
  });
  // TLS material is read and checked before anything else opens: a bad file is an exit 2.
  const tls = cfg.tls ? buildTlsServerOptions(cfg.tls) : null;
  for (const w of tls?.warnings ?? []) log.warn(w);
  const upstreams = new UpstreamSet(cfg, log);
  const metrics = new Metrics({ upstreams: upstreams.names });
  metrics.attachBus(bus);
  const sessions = new SessionTable({
    upstreams: upstreams.names, // append-only: a reload's new upstreams get new indices
    idleTimeoutMs: cfg.sessions.idle_timeout,
    completeAfterMs: cfg.sessions.complete_after,
    max: cfg.sessions.max,
    bus,
  });
  const inflight = new Inflight();
  // Tracing: the SDK is loaded only when `telemetry` is configured.
  const tracing = await createTracing(cfg);
  if (tracing !== null) governor.register('telemetry', { bytes: () => tracing.bytes(), count: () => tracing.counts.queued });
  const reloader = new Reloader(cfg, opts.configText ?? '', opts.configSource ?? null, log);
  const policyNow: PolicyHolder = { engine: policy };
  const opsMetrics = registerOperatingMetrics(metrics.registry, {
    reload: () => ({ count: reloader.count, failed: reloader.failed, hash: reloader.hash }),
    tracing: () => tracing?.counts ?? null,
  });
  const wsRegistry = new WsRegistry({ idleTimeoutMs: cfg.websocket.idle_timeout, sessions });
  const fleet = await createFleet(cfg, log);
  // The gate owns admission and ending; fleet and storage are its ports (sessions/gate.ts). Key
  // changes and agent kills share the fleet's kill channel under reserved IDs: the gate sees none.
  const gate = new SessionGate({ table: sessions, fleet: sessionsOnly(fleet), pressure: () => governor.pressure });
  // Keys, agents, usage and budgets (auth/, spend/).
  const keys = wireKeysAndSpend({ cfg, tables: store.keyTables, sessions, gate, fleet, log });
  // A kill or a terminate ends every HTTP exchange and every WebSocket of the session at once.
  gate.onEnd((slot, reason) => {
    inflight.endSlot(slot, reason);
    wsRegistry.closeSession(slot, 1008, reason);
  });
  // Kills survive a restart: restored before the first request (and checked against the fleet at
  // its first sync), then every change is stored from the bus.
  gate.restore(store);
  store.subscribe(bus);
  sessions.start();
  // If Redis comes back empty (restarted without persistence), counters are rebuilt from this table.
  fleet.setTotalsSource(() => sessions.totals());
  await fleet.start();
  // Tools: lists, holds for approval (shared through Redis in fleet mode), description rules, loops.
  const tools = await createTools(cfg, { bus, excerptBytes: PROFILE_BOUNDS[cfg.profile].excerpt_bytes, instance: fleet.instanceId, log });

  // Memory: every part that holds per-session or per-stream state reports its bytes.
  governor.register('sessions', { bytes: () => sessions.bytes(), count: () => sessions.size() });
  // The queues and inspector tails of each connection are in its stream account (`buffers`).
  governor.register('websockets', { bytes: () => wsRegistry.count() * CONN_FIXED_BYTES, count: () => wsRegistry.count() });
  governor.register('storage_queue', { bytes: () => store.bytes(), count: () => store.queueDepth });
  governor.register('scanners', { bytes: () => policyNow.engine.bytes() });
  governor.register('tools', { bytes: () => (tools.gate?.bytes() ?? tools.approvals.bytes()), count: () => tools.approvals.size });
  governor.register('spend', { bytes: () => keys.spend.bytes() });
  governor.register('upstreams', {
    bytes: () => inflight.count * UPSTREAM_LEG_BYTES,
    count: () => inflight.count,
  });
  // Warning: shed captures (forensics bodies), and evict idle sessions LRU, a batch per sample.
  let capturesShed = false;
  memory.actions.add('shed_captures', {
    level: 'warning',
    enter: () => { capturesShed = true; store.shedCaptures(); },
    leave: () => { capturesShed = false; },
  });
  memory.actions.add('evict_idle_sessions', { level: 'warning', tick: () => { sessions.evictIdle(1000); } });
  // Critical: new work gets 503 (gate.precheck), and uploads in progress stop being read.
  const uploads = new Uploads();
  memory.actions.add('pause_uploads', { level: 'critical', enter: () => uploads.pauseAll(), leave: () => uploads.resumeAll() });

  const ctx: ProxyContext = {
    cfg,
    bounds: PROFILE_BOUNDS[cfg.profile],
    log,
    bus,
    upstreams,
    sessions,
    gate,
    identity: { valid: validSessionId, fromJson: sessionIdFromJson, derive: derivedSessionId },
    policy: policy.hasRequestRules || policy.hasResponseRules ? policy : null,
    inflight,
    uploads,
    streams: memory.streams,
    fleet,
    fleetRates: fleet.mode === 'redis' ? policy.windowedRequestRules() : [],
    tools: tools.gate,
    auth: keys.auth,
    spend: keys.spend,
    capture: cfg.profile === 'forensics' ? { open: (id, dir, seq) => (capturesShed ? null : store.openCapture(id, dir, seq)) } : null,
    counters: { total: 0, blocked: 0 },
    accessLog: log.isLevelEnabled('info'),
    ops: { retry: new RetryRules(cfg), tracing, onRetry: (reason) => opsMetrics.retried(reason) },
    observe: (status, up, addedMs, upstreamMs) => metrics.requestDone(status, up, addedMs, upstreamMs),
    onHit: (rule, action) => metrics.policyHit(rule, action),
    onReject: (type) => metrics.rejected(type as RejectionType),
  };

  if (cfg.health.path) upstreams.startActiveChecks(cfg.health.path, cfg.health.interval);

  const router = new Router();
  const storedSession = (id: string) => {
    try {
      return store.session(id);
    } catch {
      return undefined; // storage unreadable: the live table is all we can answer from
    }
  };
  // Before the session routes: the first registered route wins, so in Redis mode the listings
  // answer fleet-wide. Kill and resume go through the gate, which tells the fleet.
  registerFleetSessionRoutes(router, fleet, { local: (id) => sessions.get(id), stored: storedSession });
  registerFleetRoutes(router, fleet);
  keys.registerRoutes(router);
  registerSessionRoutes(router, sessions, { fallback: storedSession, end: (id, state) => gate.end(id, state, 'operator') });
  registerStatsRoutes(router, { sessions, requests: () => ctx.counters, pressure: () => governor.pressure });
  registerHistoryRoutes(router, store);
  registerPolicyRoutes(router, policy, { preset: cfg.policy.preset, mode: cfg.mode }, {
    engine: () => policyNow.engine, preset: () => reloader.current.policy.preset, mode: () => reloader.current.mode,
    reload: () => ({ count: reloader.count, hash: reloader.hash }),
  });
  // Reload: each part prepares off the request path, then all swap in one tick (config/reload.ts).
  reloader.register('policy', policyPart(ctx, policyNow, fleet.mode));
  reloader.register('upstreams', upstreamsPart(ctx, (names) => metrics.setUpstreams(names)));
  reloader.register('keys', keysPart(keys));
  reloader.register('retry', retryPart(ctx));
  reloader.register('tools', tools.reload((g) => { ctx.tools = g; }));
  reloader.register('config', configPart(ctx));
  registerReloadRoute(router, reloader);
  registerApprovalRoutes(router, tools.approvals);
  const eventStream = registerEventStreamRoute(router, bus);
  if (cfg.debug_endpoints) registerDebugRoutes(router);
  registerDashboardRoutes(router);
  registerMemoryRoutes(router, governor, memory.streams);
  registerMetricsRoute(router, metrics);
  registerFleetMetrics(metrics.registry, fleet);
  registerSpendMetrics(metrics.registry, keys.spend);
  registerMemoryMetrics(metrics.registry, governor, memory.streams);
  metrics.bind({
    memory: () => governor.snapshot(),
    sessionsActive: () => sessions.stats().active,
    sessionsByState: () => sessions.countsByState(),
    streamsActive: () => inflight.count,
    websocketsActive: () => wsRegistry.count(),
    storageQueueDepth: () => store.queueDepth,
    storageDropped: () => store.droppedTotal,
    storageWritten: () => store.writtenTotal,
    upstreamHealthy: () => upstreams.healthByIndex(Date.now()),
    upstreamOutstanding: () => upstreams.outstandingByIndex(),
  });

  let proxyServer: Server;
  if (tls !== null) {
    const https = createHttpsServer(tls.options);
    // Refuse new TLS connections before any handshake work while memory pressure is critical.
    guardTlsAccept(https, { refuse: () => governor.pressure === 'critical' });
    proxyServer = createProxyServer(ctx, https);
  } else {
    proxyServer = createProxyServer(ctx);
  }
  // Warning: idle client connections are what a burst of agents leaves behind; close the idle
  // keep-alive sockets now and keep new ones for seconds instead of a minute, and close WebSockets
  // silent for more than PRESSURE_WS_IDLE_S, until pressure is back to normal.
  const keepAliveMs = proxyServer.keepAliveTimeout;
  memory.actions.add('shorten_idle_timeouts', {
    level: 'warning',
    enter: () => {
      proxyServer.keepAliveTimeout = Math.min(keepAliveMs, PRESSURE_KEEP_ALIVE_MS);
      proxyServer.closeIdleConnections();
    },
    tick: () => { wsRegistry.sweep(Date.now(), PRESSURE_WS_IDLE_S); },
    leave: () => { proxyServer.keepAliveTimeout = keepAliveMs; },
  });
  // Critical: new connections are closed at accept (node's maxConnections: before any parser or
  // request state exists); the kept-alive ones get 503 `overloaded`. The control API is another server.
  const maxConnections = proxyServer.maxConnections;
  memory.actions.add('stop_accepting', {
    level: 'critical',
    enter: () => { proxyServer.maxConnections = 1; },
    leave: () => { proxyServer.maxConnections = maxConnections; },
  });
  const wsDeps = createWsDeps(ctx, wsRegistry);
  proxyServer.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, wsDeps));
  // CONNECT (a forward-proxy tunnel) is not served: answered 405 instead of node's silent close.
  proxyServer.on('connect', answerConnect);
  const controlServer = createControlServer({
    router, token, log,
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

  let proxyAddr: AddressInfo;
  let controlAddr: AddressInfo;
  try {
    proxyAddr = await listen(proxyServer, cfg.listen, 'listen');
    try {
      controlAddr = await listen(controlServer, cfg.control_listen, 'control_listen');
    } catch (err) {
      proxyServer.close();
      throw err;
    }
  } catch (err) {
    await upstreams.destroy();
    await tools.close();
    await fleet.close();
    await store.close();
    throw err;
  }
  const proxyAddress = formatHostPort({ host: proxyAddr.address, port: proxyAddr.port });
  const controlAddress = formatHostPort({ host: controlAddr.address, port: controlAddr.port });
  governor.start(); // after binding: the first sample fixes the runtime baseline

  let shuttingDown: Promise<void> | null = null;
  return {
    proxyAddress,
    controlAddress,
    ctx,
    reloader,
    shutdown(): Promise<void> {
      shuttingDown ??= (async () => {
        log.info({ drain_timeout_ms: cfg.drain_timeout, in_flight: inflight.count }, 'draining');
        // Upgraded sockets count as server connections: close them first or the drain would wait for them.
        wsRegistry.closeAll(1001, 'going away');
        await tools.close(); // held calls are denied, not left waiting through the drain
        const { leftOver } = await drain(ctx, proxyServer, cfg.drain_timeout);
        wsRegistry.stop();
        if (leftOver > 0) log.warn({ cut: leftOver }, 'drain timeout reached; in-flight requests were cut');
        eventStream.close();
        controlServer.closeAllConnections();
        await new Promise<void>((r) => controlServer.close(() => r()));
        await upstreams.destroy();
        sessions.stop();
        // Every session still live is summarized for storage (ended by shutdown) before it closes.
        const summarized = gate.shutdown(Date.now());
        if (summarized > 0) log.info({ sessions: summarized }, 'live sessions written to storage');
        await fleet.close();
        governor.stop();
        await tracing?.shutdown();
        await store.close();
        log.info('stopped');
      })();
      return shuttingDown;
    },
  };
}
