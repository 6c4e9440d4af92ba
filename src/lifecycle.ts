// The gateway's two listeners bound and, at SIGTERM, everything stopped in order (gateway.ts
// builds the parts). A start-up problem is a StartError: one line from the CLI, exit 2.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort, type HostPort } from './config/units.js';
import type { Logger } from './log.js';
import type { ProxyContext } from './proxy/context.js';
import { drain } from './proxy/listener.js';
import type { WsRegistry } from './proxy/websocket/registry.js';
import type { SessionGate } from './sessions/gate.js';
import type { SessionTable } from './sessions/table.js';

/** A start-up problem the CLI reports as one line and exit 2. */
export class StartError extends Error {}

export async function listen(server: Server, hp: HostPort, what: string): Promise<AddressInfo> {
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

/** What the shutdown stops, in the order it stops them. */
export interface Running {
  log: Logger;
  drainTimeoutMs: number;
  ctx: ProxyContext;
  proxyServer: Server;
  controlServer: Server;
  eventStream: { close(): void };
  wsRegistry: WsRegistry;
  sessions: SessionTable;
  gate: SessionGate;
  /** closed in this order after the listeners, the upstreams and the sessions */
  tools: { close(): Promise<void> };
  fleet: { close(): Promise<void> };
  governor: { stop(): void };
  tracing: { shutdown(): Promise<void> } | null;
  store: { close(): Promise<void> };
}

/** SIGTERM: stop accepting, let in-flight work finish up to drain_timeout, close everything. */
export async function shutdownGateway(r: Running): Promise<void> {
  const { log, ctx } = r;
  log.info({ drain_timeout_ms: r.drainTimeoutMs, in_flight: ctx.inflight.count }, 'draining');
  // Upgraded sockets count as server connections: close them first or the drain would wait for them.
  r.wsRegistry.closeAll(1001, 'going away');
  await r.tools.close(); // held calls are denied, not left waiting through the drain
  const { leftOver } = await drain(ctx, r.proxyServer, r.drainTimeoutMs);
  r.wsRegistry.stop();
  if (leftOver > 0) log.warn({ cut: leftOver }, 'drain timeout reached; in-flight requests were cut');
  r.eventStream.close();
  r.controlServer.closeAllConnections();
  await new Promise<void>((res) => r.controlServer.close(() => res()));
  await ctx.upstreams.destroy();
  r.sessions.stop();
  // Every session still live is summarized for storage (ended by shutdown) before it closes.
  const summarized = r.gate.shutdown(Date.now());
  if (summarized > 0) log.info({ sessions: summarized }, 'live sessions written to storage');
  await r.fleet.close();
  r.governor.stop();
  await r.tracing?.shutdown();
  await r.store.close();
  log.info('stopped');
}
