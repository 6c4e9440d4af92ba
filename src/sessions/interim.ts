// INTERIM: a minimal Map-backed SessionRegistry so the proxy runs end to end before the
// typed-array table (src/sessions/table.ts) lands. Replaced, not extended.
import type { EventBus } from '../events.js';
import type { EndReason, SessionRegistry, SessionStateName, SessionView } from './types.js';

interface Entry { id: string; state: SessionStateName; upstream: number; ip: string; started: number; last: number; requests: number; bin: number; bout: number; flags: number }

export function validSessionId(s: string): boolean {
  return s.length >= 1 && s.length <= 128 && /^[A-Za-z0-9._:-]+$/.test(s);
}

export function sessionIdFromJson(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const o = json as { user?: unknown; metadata?: { user_id?: unknown } };
  if (typeof o.user === 'string' && validSessionId(o.user)) return o.user;
  const uid = o.metadata?.user_id;
  if (typeof uid === 'string' && validSessionId(uid)) return uid;
  return undefined;
}

export function derivedSessionId(ip: string, ua: string, nowMs: number): string {
  const s = `${ip}|${ua}|${Math.floor(nowMs / 3_600_000)}`;
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return `client-${(h1 >>> 0).toString(16).padStart(8, '0')}${(h2 >>> 0).toString(16).padStart(8, '0')}`;
}

export class InterimSessions implements SessionRegistry {
  private readonly byId = new Map<string, number>();
  private readonly entries: Entry[] = [];
  private readonly listeners: Array<(slot: number, reason: EndReason) => void> = [];
  constructor(private readonly upstreamNames: string[], private readonly bus: EventBus) {}

  resolve(id: string, clientIp: string, upstream: number, bytesIn: number, nowMs: number): number {
    let slot = this.byId.get(id);
    if (slot === undefined) {
      slot = this.entries.length;
      this.entries.push({ id, state: 'active', upstream, ip: clientIp, started: nowMs, last: nowMs, requests: 0, bin: 0, bout: 0, flags: 0 });
      this.byId.set(id, slot);
    }
    const e = this.entries[slot];
    e.requests++; e.bin += bytesIn; e.last = nowMs; if (upstream >= 0) e.upstream = upstream;
    if (e.state === 'idle') e.state = 'active';
    return slot;
  }
  refusal(slot: number): EndReason | null {
    const s = this.entries[slot].state;
    return s === 'killed' ? 'session_killed' : s === 'terminated' ? 'session_terminated' : null;
  }
  addBytesIn(slot: number, n: number): void { this.entries[slot].bin += n; }
  addBytesOut(slot: number, n: number): void { this.entries[slot].bout += n; }
  addFlag(slot: number): void { this.entries[slot].flags++; }
  setUpstream(slot: number, upstream: number): void { this.entries[slot].upstream = upstream; }
  idOf(slot: number): string { return this.entries[slot].id; }
  terminate(slot: number, reason = 'policy'): void {
    this.entries[slot].state = 'terminated';
    this.bus.publish({ kind: 'session', type: 'terminated', session_id: this.entries[slot].id, at: Date.now(), reason });
    for (const l of this.listeners) l(slot, 'session_terminated');
  }
  terminateById(id: string): void {
    const slot = this.resolve(id, '', -1, 0, Date.now());
    this.entries[slot].requests--;
    this.entries[slot].state = 'terminated';
  }
  kill(id: string, publish = true): SessionView {
    const slot = this.resolve(id, '', -1, 0, Date.now());
    this.entries[slot].requests--;
    this.entries[slot].state = 'killed';
    if (publish) this.bus.publish({ kind: 'session', type: 'killed', session_id: id, at: Date.now() });
    for (const l of this.listeners) l(slot, 'session_killed');
    return this.view(slot);
  }
  resume(id: string): SessionView {
    const slot = this.resolve(id, '', -1, 0, Date.now());
    this.entries[slot].requests--;
    this.entries[slot].state = 'active';
    this.bus.publish({ kind: 'session', type: 'resumed', session_id: id, at: Date.now() });
    return this.view(slot);
  }
  get(id: string): SessionView | undefined {
    const slot = this.byId.get(id);
    return slot === undefined ? undefined : this.view(slot);
  }
  onEnd(fn: (slot: number, reason: EndReason) => void): void { this.listeners.push(fn); }
  private view(slot: number): SessionView {
    const e = this.entries[slot];
    return {
      id: e.id, state: e.state, upstream: this.upstreamNames[e.upstream] ?? null, client_ip: e.ip || null,
      started_at: new Date(e.started).toISOString(), last_seen_at: new Date(e.last).toISOString(),
      requests: e.requests, bytes_in: e.bin, bytes_out: e.bout, flags: e.flags,
    };
  }
}
