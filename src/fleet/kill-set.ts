// The local mirror of the fleet's kill state, answering the hot-path kill check without Redis.
// Every change carries the version Redis gave it (one global counter), so that a pub/sub message
// and a snapshot read on another connection can arrive in any order and the newest still wins.
// A kill made while Redis is unreachable has version Infinity ("pending") until Redis takes it.
import type { FleetKillState, FleetSessionState } from './types.js';

type Code = 'k' | 't' | 'a';

interface Entry {
  s: Code;
  v: number;
}

export const PENDING = Number.POSITIVE_INFINITY;

export function codeOf(state: FleetSessionState): Code {
  return state === 'killed' ? 'k' : state === 'terminated' ? 't' : 'a';
}

export function stateOf(code: string): FleetSessionState | null {
  return code === 'k' ? 'killed' : code === 't' ? 'terminated' : code === 'a' ? 'active' : null;
}

export type ChangeFn = (id: string, state: FleetSessionState) => void;

export class KillSet {
  /** Killed sessions, plus tombstones ('a') of recent resumes until a snapshot makes them unneeded. */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly onChange: ChangeFn) {}

  get(id: string): FleetKillState | null {
    const e = this.entries.get(id);
    if (e === undefined || e.s === 'a') return null;
    return e.s === 'k' ? 'killed' : 'terminated';
  }

  /** Applies a change if it is newer than what is held; returns true when it was applied. */
  apply(id: string, state: FleetSessionState, v: number): boolean {
    const cur = this.entries.get(id);
    if (cur !== undefined && cur.v >= v) return false;
    const s = codeOf(state);
    const was = cur?.s ?? 'a';
    this.entries.set(id, { s, v });
    if (was !== s) this.onChange(id, state);
    return true;
  }

  /** Records a local change Redis has not versioned yet (pending), overriding anything held. */
  applyLocal(id: string, state: FleetSessionState): void {
    const cur = this.entries.get(id);
    const s = codeOf(state);
    const was = cur?.s ?? 'a';
    this.entries.set(id, { s, v: PENDING });
    if (was !== s) this.onChange(id, state);
  }

  /** Redis versioned a pending local change: give it that version unless something newer came meanwhile. */
  confirm(id: string, state: FleetSessionState, v: number): void {
    const cur = this.entries.get(id);
    if (cur !== undefined && cur.v === PENDING && cur.s === codeOf(state)) cur.v = v;
  }

  /**
   * Merges a consistent snapshot taken at version `snapVer`. A held kill missing from the snapshot
   * and older than it was resumed meanwhile; pending local changes are left alone (they are replayed).
   */
  applySnapshot(snapVer: number, snap: Map<string, { s: Code; v: number }>): number {
    let changed = 0;
    for (const [id, e] of snap) {
      if (this.apply(id, stateOf(e.s) ?? 'killed', e.v)) changed++;
    }
    for (const [id, e] of this.entries) {
      if (e.v === PENDING || snap.has(id) || e.v > snapVer) continue;
      if (e.s === 'a') {
        this.entries.delete(id);
      } else {
        this.entries.delete(id);
        changed++;
        this.onChange(id, 'active');
      }
    }
    return changed;
  }

  /**
   * Redis lost its data, and with it the version counter, which starts again from 0: held versions
   * from before would make every new change look old. Forget them (tombstones go; kills stay, at 0).
   */
  rebase(): void {
    for (const [id, e] of this.entries) {
      if (e.v === PENDING) continue;
      if (e.s === 'a') this.entries.delete(id);
      else e.v = 0;
    }
  }

  /** Drops resume tombstones; only safe while no snapshot read is in flight (the caller knows). */
  pruneTombstones(): void {
    for (const [id, e] of this.entries) if (e.s === 'a' && e.v !== PENDING) this.entries.delete(id);
  }

  /** Sessions held as killed or terminated (pending ones too). */
  *killed(): IterableIterator<[string, FleetKillState]> {
    for (const [id, e] of this.entries) {
      if (e.s === 'k') yield [id, 'killed'];
      else if (e.s === 't') yield [id, 'terminated'];
    }
  }

  get size(): number { return this.entries.size; }
}
