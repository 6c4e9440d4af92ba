// The two sockets of a relayed pair (legs). Their listeners are module-level functions shared by
// every connection: `this` is the socket, and it finds its Conn through the kConn symbol, so no
// closure is created per connection or per frame. Teardown lives here too: a leg that ends or
// closes takes the other with it, and a leg told to finish gets a grace period.
import type { Socket } from 'node:net';
import type { Conn } from './conn.js';
import { F_CLIENT_PAUSED, F_HANDSHAKE, F_TIMED_OUT, F_UP_PAUSED } from './conn-flags.js';
import { writeHttpError } from './http-error.js';

export const kConn = Symbol('cordon.ws.conn');
export type Leg = Socket & { [kConn]?: Conn };

/** After a close frame or a peer's FIN, how long a leg may take to finish before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

export function closeLeg(s: Leg, frame: Buffer | null): void {
  if (s.destroyed) return;
  if (frame !== null && s.writable) {
    s.end(frame);
    armGrace(s);
  } else {
    s.destroy();
  }
}

/** A leg that was told to finish gets CLOSE_GRACE_MS to do so; the listener is added only now. */
function armGrace(s: Leg): void {
  if (s.listenerCount('timeout') === 0) s.on('timeout', onLegTimeout);
  s.setTimeout(CLOSE_GRACE_MS);
}

// ---- socket listeners (shared, `this` is the socket) ----

export function onClientData(this: Leg, chunk: Buffer): void {
  this[kConn]!.fromClient(chunk);
}
export function onUpstreamData(this: Leg, chunk: Buffer): void {
  const c = this[kConn]!;
  if (c.flags & F_HANDSHAKE) c.handshakeData(chunk);
  else c.fromUpstream(chunk);
}

/** Connect plus handshake took too long. A socket timeout would keep its timer object for the connection's life. */
export function onHandshakeTimeout(c: Conn): void {
  c.timer = null;
  if ((c.flags & F_HANDSHAKE) === 0) return;
  c.flags |= F_TIMED_OUT;
  c.upstream?.destroy();
}
export function onUpstreamDrain(this: Leg): void {
  const c = this[kConn]!;
  if (c.flags & F_CLIENT_PAUSED) {
    c.flags &= ~F_CLIENT_PAUSED;
    c.client.resume();
  }
}
export function onClientDrain(this: Leg): void {
  const c = this[kConn]!;
  if (c.flags & F_UP_PAUSED) {
    c.flags &= ~F_UP_PAUSED;
    c.upstream?.resume();
  }
}
export function onUpstreamConnect(this: Leg): void {
  const c = this[kConn]!;
  if (c.flags & F_HANDSHAKE) this.write(c.hsRequest ?? '');
  c.hsRequest = null;
}

/** A peer's FIN: pass it on (the close handshake ends this way), and bound the wait for the rest. */
export function onLegEnd(this: Leg): void {
  const c = this[kConn]!;
  if (this === c.upstream && c.upstreamVanished()) {
    if (!this.destroyed) { this.end(); armGrace(this); }
    return;
  }
  const other = this === c.client ? c.upstream : c.client;
  if (other && !other.destroyed) {
    other.end();
    armGrace(other);
  }
  if (!this.destroyed) {
    this.end();
    armGrace(this);
  }
}

/** Either leg closed: the other follows (FIN now, destroyed after the grace), never half-open. */
export function onLegClose(this: Leg): void {
  const c = this[kConn]!;
  const isClient = this === c.client;
  if (c.flags & F_HANDSHAKE) {
    if (isClient) c.upstream?.destroy();
    else if (!c.client.destroyed) {
      const timedOut = (c.flags & F_TIMED_OUT) !== 0;
      writeHttpError(c.client, timedOut ? 504 : 502, timedOut ? 'upstream_timeout' : 'upstream_error', timedOut ? 'upstream_timeout' : 'upstream_error',
        timedOut ? 'the upstream did not answer the WebSocket upgrade in time' : 'could not reach the upstream', c.sid);
    }
    c.flags &= ~F_HANDSHAKE;
    c.gone();
    return;
  }
  if (!isClient && c.upstreamVanished()) return;
  c.gone();
  const other = isClient ? c.upstream : c.client;
  if (other && !other.destroyed) {
    if (other.writableLength === 0 && !other.writable) other.destroy();
    else {
      other.end();
      armGrace(other);
    }
  }
}

/** Only armed while closing: the peer did not finish in the grace period. */
function onLegTimeout(this: Leg): void {
  this.destroy();
}

/** Errors are followed by 'close', which tears the pair down; this only keeps them from throwing. */
export function onLegError(this: Leg): void {}

