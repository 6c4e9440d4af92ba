// Keeps a TLS handshake flood from turning into memory: a handshake costs OpenSSL state and a
// TLSSocket (~30KB measured in bench/tls.mjs) before any request is seen. New TCP connections are
// dropped at accept, before any TLS state exists, while the memory governor says critical or when
// too many connections are open; and a handshake that does not finish in time is cut.
import type { Server as TlsServer } from 'node:tls';
import type { Socket } from 'node:net';

export interface AcceptGuardOptions {
  /** true while new connections must be refused (e.g. memory pressure is critical) */
  refuse: () => boolean;
  /** most open connections, handshaking or not (default: no cap) */
  maxConnections?: number;
}

export interface AcceptGuard {
  /** connections dropped at accept since start */
  readonly refused: number;
  /** connections open now */
  readonly open: number;
}

/** Installs the guard on an https/tls server; call before listen(). */
export function guardTlsAccept(server: TlsServer, opts: AcceptGuardOptions): AcceptGuard {
  const stats = { refused: 0, open: 0 };
  const max = opts.maxConnections ?? Infinity;
  // prependListener: this must run before the TLS layer wraps the socket
  server.prependListener('connection', (socket: Socket) => {
    if (stats.open >= max || opts.refuse()) {
      stats.refused++;
      socket.destroy();
      return;
    }
    stats.open++;
    socket.once('close', () => { stats.open--; });
  });
  return stats;
}

/** How long a client has to finish the TLS handshake (Node's default is 120s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
