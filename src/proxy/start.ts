// The proxy listener as the gateway starts it (gateway.ts): HTTP or HTTPS, WebSocket upgrades,
// CONNECT refused, and what the proxy gives up under memory pressure (idle keep-alive sockets and
// WebSockets, new connections, uploads in progress) with the bytes its upstream legs hold.
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Memory } from '../memory/setup.js';
import type { ProxyContext } from './context.js';
import { answerConnect } from './client-error.js';
import { createProxyServer } from './listener.js';
import { guardTlsAccept, type TlsSetup } from './tls/index.js';
import { createWsDeps } from './websocket/deps.js';
import { CONN_FIXED_BYTES, type WsRegistry } from './websocket/registry.js';
import { handleUpgrade } from './websocket/relay.js';

/**
 * RSS an in-flight exchange costs on its upstream leg (socket, undici request state): bench:memory
 * measured 16.5-18.5KB per open SSE stream for both legs; the client leg is the other half.
 */
const UPSTREAM_LEG_BYTES = 8 * 1024;

/** client keep-alive and WebSocket idle limits while memory pressure is warning or worse */
const PRESSURE_KEEP_ALIVE_MS = 2_000;
const PRESSURE_WS_IDLE_S = 30;

export function startProxyServer(ctx: ProxyContext, p: { tls: TlsSetup | null; memory: Memory; wsRegistry: WsRegistry }): Server {
  const { governor, actions } = p.memory;
  const { inflight, uploads } = ctx;
  const ws = p.wsRegistry;
  // The queues and inspector tails of each connection are in its stream account (`buffers`).
  governor.register('websockets', { bytes: () => ws.count() * CONN_FIXED_BYTES, count: () => ws.count() });
  governor.register('upstreams', { bytes: () => inflight.count * UPSTREAM_LEG_BYTES, count: () => inflight.count });
  // Critical: new work gets 503 (gate.precheck), and uploads in progress stop being read.
  actions.add('pause_uploads', { level: 'critical', enter: () => uploads.pauseAll(), leave: () => uploads.resumeAll() });

  let server: Server;
  if (p.tls !== null) {
    const https = createHttpsServer(p.tls.options);
    // Refuse new TLS connections before any handshake work while memory pressure is critical.
    guardTlsAccept(https, { refuse: () => governor.pressure === 'critical' });
    server = createProxyServer(ctx, https);
  } else {
    server = createProxyServer(ctx);
  }
  // Warning: idle client connections are what a burst of agents leaves behind; close the idle
  // keep-alive sockets now and keep new ones for seconds instead of a minute, and close WebSockets
  // silent for more than PRESSURE_WS_IDLE_S, until pressure is back to normal.
  const keepAliveMs = server.keepAliveTimeout;
  actions.add('shorten_idle_timeouts', {
    level: 'warning',
    enter: () => {
      server.keepAliveTimeout = Math.min(keepAliveMs, PRESSURE_KEEP_ALIVE_MS);
      server.closeIdleConnections();
    },
    tick: () => { ws.sweep(Date.now(), PRESSURE_WS_IDLE_S); },
    leave: () => { server.keepAliveTimeout = keepAliveMs; },
  });
  // Critical: new connections are closed at accept (node's maxConnections: before any parser or
  // request state exists); the kept-alive ones get 503 `overloaded`. The control API is another server.
  const maxConnections = server.maxConnections;
  actions.add('stop_accepting', {
    level: 'critical',
    enter: () => { server.maxConnections = 1; },
    leave: () => { server.maxConnections = maxConnections; },
  });
  const wsDeps = createWsDeps(ctx, ws);
  server.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, wsDeps));
  // CONNECT (a forward-proxy tunnel) is not served: answered 405 instead of node's silent close.
  server.on('connect', answerConnect);
  return server;
}
