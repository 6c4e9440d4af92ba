// The one owner of a session's admission and ending. HTTP exchanges and WebSocket upgrades ask
// admit(); operators, rules, the fleet and shutdown end sessions through end() / terminate() /
// endWhere(). The table keeps the state byte and publishes the change on the bus (storage records
// it from there); the gate adds what surrounds a change: ending in-flight work (enders registered
// with onEnd), telling the fleet once, and refusing new work. See docs/architecture.md.
import { ERR, sessionEnded, type ProxyError } from '../errors/index.js';
import type { PressureLevel } from '../memory/types.js';
import type { KillEntry, SessionTable } from './table.js';
import type { EndReason, SessionView } from './types.js';

/** Who ends a session. `fleet` changes came from the shared store and are not sent back to it. */
export type EndOrigin = 'operator' | 'rule' | 'agent' | 'fleet' | 'shutdown';
/** What a session becomes: `active` lifts a kill or a terminate (resume). */
export type EndState = 'killed' | 'terminated' | 'active';
export type KillState = Exclude<EndState, 'active'>;

/** The facts of one request or upgrade that admission decides on. */
export interface AdmitFacts {
  id: string;
  clientIp: string;
  /** request body bytes, counted on the session */
  bytesIn: number;
  nowMs: number;
  /** the agent the request's credentials name, when auth knows one; per-agent checks read it */
  agent?: string | null;
}

/** An extra refusal, run in order after the session's own kill state; null lets the request on. */
export type AdmissionCheck = (facts: AdmitFacts, slot: number) => ProxyError | null;

/** What the gate needs of the fleet (FleetState fits). */
export interface FleetPort {
  admit(): boolean;
  record(id: string, requests: number, bytesIn: number, bytesOut: number, tokens: number, nowMs: number): void;
  kill(id: string, state?: KillState): Promise<void>;
  resume(id: string): Promise<void>;
  onKill(fn: (id: string, state: EndState) => void): () => void;
  restoreKills(kills: { id: string; state: KillState; at: number }[]): void;
}

/** What the gate needs of storage (the Store fits): the kills to restore at start. */
export interface StoragePort {
  loadKills(): { id: string; state: KillState; at: number }[];
}

/** Ends in-flight work of a slot: HTTP exchanges (Inflight), WebSockets (WsRegistry). */
export type WorkEnder = (slot: number, reason: EndReason) => void;

export interface SessionGateOptions {
  table: SessionTable;
  fleet: FleetPort;
  /** memory pressure now: new work is refused at `critical` */
  pressure?: () => PressureLevel;
}

/** The reason kept on the session when none is given. */
const DEFAULT_REASON: Record<EndOrigin, string> = {
  operator: 'operator', rule: 'rule', agent: 'agent', fleet: 'fleet', shutdown: 'shutdown',
};

function ignore(): void {}

export class SessionGate {
  readonly table: SessionTable;
  private readonly fleet: FleetPort;
  private readonly pressure: () => PressureLevel;
  private readonly checks: AdmissionCheck[] = [];
  /** set by the listener's drain: every new request and upgrade is refused with 503 draining */
  draining = false;

  constructor(opts: SessionGateOptions) {
    this.table = opts.table;
    this.fleet = opts.fleet;
    this.pressure = opts.pressure ?? (() => 'normal');
    // A change made on any instance (this one's own come back too, and are no-ops by then).
    this.fleet.onKill((id, state) => { this.apply(id, state, 'fleet', undefined); });
  }

  /**
   * Kills and terminates kept by storage, taken before the first request. The fleet checks them
   * at its first sync (one resumed elsewhere meanwhile is resumed here through onKill).
   */
  restore(storage: StoragePort): number {
    const kills = storage.loadKills();
    const n = this.table.loadKills(kills as KillEntry[]);
    this.fleet.restoreKills(kills);
    return n;
  }

  // ---- admission ------------------------------------------------------------------------------

  /** Adds a refusal (e.g. per agent), run after the built-in ones in the order added. */
  addCheck(check: AdmissionCheck): void {
    this.checks.push(check);
  }

  /** Refusals that need no request facts: draining, critical memory pressure. */
  precheck(): ProxyError | null {
    if (this.draining) return ERR.draining();
    if (this.pressure() === 'critical') return ERR.overloaded();
    return null;
  }

  /**
   * Finds or creates the session and counts the request on it, then decides: the slot when the
   * request may go on, or why not. A refused request still counts on the session and the fleet.
   * An admitted HTTP request calls hold(slot) and, at its end, release(); a WebSocket is held by
   * the WsRegistry while it is open.
   */
  admit(f: AdmitFacts): number | ProxyError {
    const table = this.table;
    const slot = table.resolve(f.id, f.clientIp, -1, f.bytesIn, f.nowMs);
    if (slot < 0) return ERR.noSlot();
    let err: ProxyError | null = null;
    const ended = table.refusal(slot);
    if (ended !== null) err = sessionEnded(ended);
    for (let i = 0; err === null && i < this.checks.length; i++) err = this.checks[i](f, slot);
    if (err === null && !this.fleet.admit()) err = ERR.fleetDown();
    if (err !== null) {
      this.fleet.record(f.id, 1, f.bytesIn, 0, 0, f.nowMs);
      return err;
    }
    return slot;
  }

  /** Why a session admitted earlier may not go on now (killed or terminated since), or null. */
  refusalOf(slot: number): ProxyError | null {
    const ended = this.table.refusal(slot);
    return ended === null ? null : sessionEnded(ended);
  }

  /** The slot has work in flight: the sweep leaves it alone until release(). */
  hold(slot: number): void {
    this.table.hold(slot);
  }

  /** The end of an admitted request: bytes and tokens to the fleet, the slot's hold released. */
  release(slot: number, bytesIn: number, bytesOut: number, tokens: number, nowMs: number): void {
    this.table.addBytesOut(slot, bytesOut);
    this.fleet.record(this.table.idOf(slot), 1, bytesIn, bytesOut, tokens, nowMs);
    this.table.release(slot);
  }

  // ---- ending ---------------------------------------------------------------------------------

  /** Registers what ends a slot's in-flight work on a kill or a terminate. */
  onEnd(fn: WorkEnder): void {
    this.table.onEnd(fn);
  }

  /**
   * Kills, terminates or resumes a session (an unknown ID is killed in advance): the table changes
   * and publishes once, in-flight work ends, and the fleet is told unless the change came from it.
   * Resolves when the fleet has it; the local change is done before this returns.
   */
  end(id: string, state: EndState, origin: EndOrigin, reason?: string): Promise<SessionView | undefined> {
    const view = this.apply(id, state, origin, reason);
    if (origin === 'fleet') return Promise.resolve(view);
    const told = state === 'active' ? this.fleet.resume(id) : this.fleet.kill(id, state);
    return told.then(() => view);
  }

  /** A rule's terminate on the hot path: by slot, the fleet told in the background. */
  terminate(slot: number, rule: string): void {
    this.table.terminate(slot, rule);
    this.fleet.kill(this.table.idOf(slot), 'terminated').catch(ignore);
  }

  /**
   * Ends the in-flight work of every live session `match` picks, leaving the sessions' state as it
   * is: a kill by agent, whose refusal of new work is an admission check (spend/wire.ts).
   */
  endWorkWhere(match: (id: string, slot: number) => boolean, reason: EndReason): number {
    const slots: number[] = [];
    this.table.forEachLive((slot, id) => { if (match(id, slot)) slots.push(slot); });
    for (const slot of slots) this.table.endWork(slot, reason);
    return slots.length;
  }

  /** Ends every live session `match` picks (e.g. all of one agent's); returns how many changed. */
  endWhere(match: (id: string, slot: number) => boolean, state: KillState, origin: EndOrigin, reason?: string): number {
    const ids: string[] = [];
    this.table.forEachLive((slot, id, s) => { if (s !== state && match(id, slot)) ids.push(id); });
    for (const id of ids) this.end(id, state, origin, reason).catch(ignore);
    return ids.length;
  }

  /**
   * The gateway stops (after the drain): every session that made requests in this run is
   * summarized for storage, marked as ended by shutdown. Returns how many.
   */
  shutdown(nowMs: number): number {
    this.draining = true;
    return this.table.endAll(nowMs, 'shutdown');
  }

  private apply(id: string, state: EndState, origin: EndOrigin, reason: string | undefined): SessionView | undefined {
    const table = this.table;
    const why = reason ?? DEFAULT_REASON[origin];
    if (state === 'active') return table.resume(id);
    // The event says a change came from another instance (kills{source="fleet"}).
    const from = origin === 'fleet' ? 'fleet' : undefined;
    // A kill made on another instance was an operator's: it keeps that reason here too.
    if (state === 'killed') return table.kill(id, from !== undefined && reason === undefined ? 'operator' : why, from);
    const slot = table.slotOf(id);
    if (slot < 0) {
      table.loadKills([{ id, state: 'terminated' }], false);
    } else {
      table.terminate(slot, why, from);
    }
    return table.get(id);
  }
}
