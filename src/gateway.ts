// The composition root: builds every part from one validated Config and wires them together.
// Parts depend downward (proxy → sessions, policy, memory; control → everything, read-only); each
// part's own start-up (its memory accounts and pressure actions) is in its folder's start.ts.
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { PROFILE_BOUNDS } from './config/profiles.js';
import { formatHostPort } from './config/units.js';
import { isLoopbackHost } from './control/auth.js';
import { EventBus } from './events.js';
import type { Logger } from './log.js';
import { Metrics } from './control/metrics.js';
import { createControl } from './control/start.js';
import { buildTlsServerOptions } from './proxy/tls/index.js';
import { startStorage } from './storage/start.js';
import { createPolicyEngine } from './policy/index.js';
import type { ProxyContext } from './proxy/context.js';
import { Inflight } from './proxy/inflight.js';
import { Uploads, uploadBudgetFor } from './proxy/uploads.js';
import { startProxyServer } from './proxy/start.js';
import { UpstreamSet } from './proxy/upstreams.js';
import { WsRegistry } from './proxy/websocket/registry.js';
import { derivedSessionId, sessionIdFromJson, validSessionId } from './sessions/identity.js';
import { createSessions } from './sessions/start.js';
import { createFleet } from './fleet/index.js';
import { SessionGate } from './sessions/gate.js';
import { createMemory } from './memory/index.js';
import { createTracing } from './telemetry/index.js';
import { RetryRules } from './proxy/retry.js';
import { registerOperatingMetrics } from './control/metrics/operating.js';
import { Reloader, type ConfigSource } from './config/reload.js';
import { configPart, policyPart, retryPart, upstreamsPart, type PolicyHolder } from './proxy/reconfigure.js';
import { createTools, engineRules } from './tools/index.js';
import { keysPart, sessionsOnly, wireKeysAndSpend } from './spend/wire.js';
import { listen, shutdownGateway, StartError } from './lifecycle.js';

export { StartError } from './lifecycle.js';

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
  const { store, capture } = startStorage(cfg, log, memory);
  // TLS material is read and checked before anything else opens: a bad file is an exit 2.
  const tls = cfg.tls ? buildTlsServerOptions(cfg.tls) : null;
  for (const w of tls?.warnings ?? []) log.warn(w);
  const upstreams = new UpstreamSet(cfg, log);
  const metrics = new Metrics({ upstreams: upstreams.names });
  metrics.attachBus(bus);
  const sessions = createSessions(cfg, { upstreams: upstreams.names, bus, memory });
  const inflight = new Inflight();
  // Tracing: the SDK is loaded only when `telemetry` is configured.
  const tracing = await createTracing(cfg);
  if (tracing !== null) governor.register('telemetry', { bytes: () => tracing.bytes(), count: () => tracing.counts.queued });
  const reloader = new Reloader(cfg, opts.configText ?? '', opts.configSource ?? null, log);
  const policyNow: PolicyHolder = { engine: policy };
  // A freed slot is reused by another session: the policy's windows and caches for it go first.
  sessions.onFree((slot) => policyNow.engine.releaseSession(slot));
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
  // Memory: the parts built here report their bytes too (the others in their start.ts).
  governor.register('scanners', { bytes: () => policyNow.engine.bytes() });
  governor.register('tools', { bytes: () => (tools.gate?.bytes() ?? tools.approvals.bytes()), count: () => tools.approvals.size });
  governor.register('spend', { bytes: () => keys.spend.bytes() });

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
    // bodies are held whole for the policy: together they reserve at most a share of the budget
    uploads: new Uploads(uploadBudgetFor(cfg.memory_limit, cfg.max_body)),
    streams: memory.streams,
    fleet,
    fleetRates: fleet.mode === 'redis' ? policy.windowedRequestRules() : [],
    tools: tools.gate,
    auth: keys.auth,
    spend: keys.spend,
    capture,
    counters: { total: 0, blocked: 0 },
    accessLog: log.isLevelEnabled('info'),
    ops: { retry: new RetryRules(cfg), tracing, onRetry: (reason) => opsMetrics.retried(reason) },
    observe: (status, up, addedMs, upstreamMs) => metrics.requestDone(status, up, addedMs, upstreamMs),
    onHit: (rule, action) => metrics.policyHit(rule, action),
    onReject: (type) => metrics.rejected(type),
  };

  if (cfg.health.path) upstreams.startActiveChecks(cfg.health.path, cfg.health.interval);
  // Reload: each part prepares off the request path, then all swap in one tick (config/reload.ts).
  reloader.register('policy', policyPart(ctx, policyNow, fleet.mode));
  reloader.register('upstreams', upstreamsPart(ctx, (names) => metrics.setUpstreams(names)));
  reloader.register('keys', keysPart(keys));
  reloader.register('retry', retryPart(ctx));
  reloader.register('tools', tools.reload((g) => { ctx.tools = g; }));
  reloader.register('config', configPart(ctx));
  const control = createControl({
    cfg, token, log, bus, ctx, store, sessions, gate, fleet, keys, policy, policyNow, reloader, tools, memory, metrics, wsRegistry,
  });
  const proxyServer = startProxyServer(ctx, { tls, memory, wsRegistry });

  let proxyAddr: AddressInfo;
  let controlAddr: AddressInfo;
  try {
    proxyAddr = await listen(proxyServer, cfg.listen, 'listen');
    try {
      controlAddr = await listen(control.server, cfg.control_listen, 'control_listen');
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
  governor.start(); // after binding: the first sample fixes the runtime baseline

  let shuttingDown: Promise<void> | null = null;
  return {
    proxyAddress: formatHostPort({ host: proxyAddr.address, port: proxyAddr.port }),
    controlAddress: formatHostPort({ host: controlAddr.address, port: controlAddr.port }),
    ctx,
    reloader,
    shutdown: () => shuttingDown ??= shutdownGateway({
      log, drainTimeoutMs: cfg.drain_timeout, ctx, proxyServer, controlServer: control.server, eventStream: control.eventStream,
      wsRegistry, sessions, gate, tools, fleet, governor, tracing, store,
    }),
  };
}
