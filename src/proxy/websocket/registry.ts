// Live WebSocket connections: a flat map keyed by connection ID, plus a session → connections
// index kept as an intrusive doubly linked list through the connections themselves, so the
// index costs one map entry per session and no arrays or sets (flatten nested maps).
// The kill switch calls closeSession(); /control/sessions/{id} reads forSession(); /control/memory
// reads count() and bytes(). A coarse sweep closes idle connections: one timer for all of them.

/** What the registry needs from a connection (the relay's Conn implements it). */
export interface RegisteredConn {
  id: number;
  readonly slot: number;
  /** epoch seconds of the last byte relayed either way */
  lastActive: number;
  prevInSession: RegisteredConn | null;
  nextInSession: RegisteredConn | null;
  /** sends a close frame with `code` to both sides and tears both legs down */
  close(code: number, reason: string): void;
  /** bytes this connection holds beyond its fixed cost: queued writes, inspector state */
  heldBytes(): number;
  info(): WsConnInfo;
}

/** One connection as /control/sessions/{id} shows it. */
export interface WsConnInfo {
  id: number;
  upstream: string;
  started_at: string;
  bytes_in: number;
  bytes_out: number;
}

/**
 * What the relay itself holds per idle connection: the Conn and the map entries (frame parsers,
 * made on first traffic, are counted by heldBytes()). From a heap snapshot of bench/ws.mjs.
 */
export const CONN_STATE_BYTES = 400;
/** One frame parser (heap snapshot: 168 bytes). */
export const PARSER_BYTES = 170;
/**
 * The two sockets of a relayed connection (client leg and upstream leg: JS objects, stream
 * state, libuv handles): bench/ws.mjs measured ΔRSS ≈ 6.1KB per idle connection in all, so the
 * `websockets` component explains the RSS it causes, not only the relay's own objects.
 */
export const SOCKET_PAIR_BYTES = 5_700;
export const CONN_FIXED_BYTES = CONN_STATE_BYTES + SOCKET_PAIR_BYTES;

export class WsRegistry {
  private readonly conns = new Map<number, RegisteredConn>();
  private readonly bySession = new Map<number, RegisteredConn>();
  private nextId = 1;
  private timer: NodeJS.Timeout | null = null;
  private readonly idleSec: number;
  private readonly sweepMs: number;

  private readonly holder: { hold(slot: number): void; release(slot: number): void } | null;

  /** `sessions`, when given, keeps a session's slot from being swept while it has a live socket. */
  constructor(opts: { idleTimeoutMs: number; sweepIntervalMs?: number; sessions?: { hold(slot: number): void; release(slot: number): void } }) {
    this.holder = opts.sessions ?? null;
    this.idleSec = Math.max(1, Math.ceil(opts.idleTimeoutMs / 1000));
    this.sweepMs = opts.sweepIntervalMs ?? Math.min(30_000, Math.max(1_000, Math.floor(opts.idleTimeoutMs / 4)));
  }

  add(c: RegisteredConn): number {
    c.id = this.nextId++;
    this.conns.set(c.id, c);
    this.holder?.hold(c.slot);
    const head = this.bySession.get(c.slot);
    c.prevInSession = null;
    c.nextInSession = head ?? null;
    if (head) head.prevInSession = c;
    this.bySession.set(c.slot, c);
    if (this.timer === null) {
      this.timer = setInterval(sweepTick, this.sweepMs, this);
      this.timer.unref();
    }
    return c.id;
  }

  /** Idempotent: a connection is removed when its first leg closes. */
  remove(c: RegisteredConn): void {
    if (this.conns.get(c.id) !== c) return;
    this.conns.delete(c.id);
    this.holder?.release(c.slot);
    if (c.prevInSession) c.prevInSession.nextInSession = c.nextInSession;
    else if (c.nextInSession) this.bySession.set(c.slot, c.nextInSession);
    else this.bySession.delete(c.slot);
    if (c.nextInSession) c.nextInSession.prevInSession = c.prevInSession;
    c.prevInSession = c.nextInSession = null;
    if (this.conns.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  get(id: number): RegisteredConn | undefined {
    return this.conns.get(id);
  }

  count(): number {
    return this.conns.size;
  }

  /** Bytes attributed to WebSocket connections (memory accounting, component `websockets`). */
  bytes(): number {
    let held = 0;
    for (const c of this.conns.values()) held += c.heldBytes();
    return this.conns.size * CONN_FIXED_BYTES + held;
  }

  forSession(slot: number): WsConnInfo[] {
    const out: WsConnInfo[] = [];
    for (let c = this.bySession.get(slot) ?? null; c !== null; c = c.nextInSession) out.push(c.info());
    return out;
  }

  countForSession(slot: number): number {
    let n = 0;
    for (let c = this.bySession.get(slot) ?? null; c !== null; c = c.nextInSession) n++;
    return n;
  }

  /**
   * Closes every connection of a session with `code` (1008 for a kill or a terminate) both ways.
   * Synchronous: the close frames are written before this returns. Returns how many were closed.
   */
  closeSession(slot: number, code = 1008, reason = 'session_killed'): number {
    let n = 0;
    let c = this.bySession.get(slot) ?? null;
    while (c !== null) {
      const next: RegisteredConn | null = c.nextInSession;
      this.remove(c);
      c.close(code, reason);
      n++;
      c = next;
    }
    return n;
  }

  /** Closes everything (drain/shutdown), with 1001 by default. */
  closeAll(code = 1001, reason = 'going away'): number {
    const all = [...this.conns.values()];
    for (const c of all) {
      this.remove(c);
      c.close(code, reason);
    }
    return all.length;
  }

  /**
   * Closes connections idle for longer than the idle timeout, or than `idleSec` when given (shorter
   * under memory pressure: the shorten_idle_timeouts action).
   */
  sweep(nowMs = Date.now(), idleSec = this.idleSec): number {
    const limit = Math.floor(nowMs / 1000) - Math.min(idleSec, this.idleSec);
    let idle: RegisteredConn[] | null = null;
    for (const c of this.conns.values()) {
      if (c.lastActive < limit) (idle ??= []).push(c);
    }
    if (idle === null) return 0;
    for (const c of idle) {
      this.remove(c);
      c.close(1001, 'idle timeout');
    }
    return idle.length;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

function sweepTick(r: WsRegistry): void {
  r.sweep();
}
