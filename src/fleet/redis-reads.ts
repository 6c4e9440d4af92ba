// The read side of the Redis fleet: sessions and instances as the whole fleet sees them (SCAN over
// session hashes and heartbeat keys, HGETALL, instance index → name). Kept apart from redis.ts
// because none of it is on the hot path or changes shared state: it serves the control API only and
// needs from RedisFleet just a way to send a command, the key prefix, the local kill set (for a
// session's state) and the instance-name map that RedisFleet fills and clears on resync.
import type { KillSet } from './kill-set.js';
import type { FleetSessionView, SessionPage } from './types.js';

export interface RedisReadsOptions {
  /** key prefix (`cordon:` by default) */
  prefix: string;
  /** sends one command to Redis (with RedisFleet's timeout) */
  call(args: string[]): Promise<unknown>;
  kills: Pick<KillSet, 'get'>;
  /** instance index → instance id; shared with RedisFleet, which resets it when Redis loses its data */
  instanceNames: Map<string, string>;
}

export class RedisReads {
  private readonly p: string;
  private readonly call: (args: string[]) => Promise<unknown>;
  private readonly kills: Pick<KillSet, 'get'>;
  private readonly instanceNames: Map<string, string>;

  constructor(opts: RedisReadsOptions) {
    this.p = opts.prefix;
    this.call = opts.call;
    this.kills = opts.kills;
    this.instanceNames = opts.instanceNames;
  }

  async getSession(id: string): Promise<FleetSessionView | undefined> {
    const flat = await this.call(['HGETALL', this.sessionKey(id)]) as string[];
    const k = this.kills.get(id);
    if (flat.length === 0 && k === null) return undefined;
    await this.loadInstanceNames(flat);
    return this.view(id, flat);
  }

  /**
   * SCAN over session keys, bounded: at most 50 SCAN calls per page. The cursor is
   * "<scan cursor>.<keys of that step already returned>" so a page never exceeds `limit`.
   * As with SCAN itself, a session may appear twice if Redis rehashes between pages.
   */
  async listSessions(opts: { limit: number; cursor?: string | null }): Promise<SessionPage> {
    const limit = Math.max(1, Math.min(1000, Math.floor(opts.limit)));
    let [scanCur, skipStr] = (opts.cursor ?? '0.0').split('.');
    if (!/^\d+$/.test(scanCur ?? '')) scanCur = '0';
    let skip = Number.parseInt(skipStr ?? '0', 10) || 0;
    const ids: string[] = [];
    let next: string | null = null;
    const prefixLen = this.sessionKey('').length;
    for (let step = 0; ; step++) {
      if (step === 50) { next = `${scanCur}.0`; break; }
      const [after, keys] = await this.call(['SCAN', scanCur, 'MATCH', this.sessionKey('*'), 'COUNT', String(Math.max(limit, 100))]) as [string, string[]];
      const avail = keys.length - skip;
      const want = limit - ids.length;
      for (let i = skip; i < keys.length && ids.length < limit; i++) ids.push(keys[i].slice(prefixLen));
      if (avail > want) { next = `${scanCur}.${skip + want}`; break; }
      skip = 0;
      scanCur = after;
      if (after === '0') { next = null; break; }
      if (ids.length === limit) { next = `${after}.0`; break; }
    }
    const flats = await Promise.all(ids.map((id) => this.call(['HGETALL', this.sessionKey(id)]) as Promise<string[]>));
    const sessions: FleetSessionView[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (flats[i].length === 0) continue; // expired between SCAN and HGETALL
      await this.loadInstanceNames(flats[i]);
      sessions.push(this.view(ids[i], flats[i]));
    }
    return { sessions, next_cursor: next };
  }

  private view(id: string, flat: string[]): FleetSessionView {
    const v: FleetSessionView = {
      id, state: this.kills.get(id) ?? 'active', requests: 0, bytes_in: 0, bytes_out: 0, tokens: 0,
      last_seen_ms: 0, instance: null, instances: [],
    };
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const f = flat[i];
      const val = flat[i + 1];
      switch (f) {
        case 'r': v.requests = Number(val); break;
        case 'i': v.bytes_in = Number(val); break;
        case 'o': v.bytes_out = Number(val); break;
        case 't': v.tokens = Number(val); break;
        case 'l': v.last_seen_ms = Number(val) * 1000; break;
        case 'h': v.instance = this.instanceNames.get(val) ?? `#${val}`; break;
        default:
          if (f.startsWith('@')) v.instances.push(this.instanceNames.get(f.slice(1)) ?? `#${f.slice(1)}`);
      }
    }
    // '@' fields appear only once a second instance served the session; the holder always did.
    if (v.instance !== null && !v.instances.includes(v.instance)) v.instances.push(v.instance);
    return v;
  }

  /** Instance indexes → names, read from Redis when a session names an index not seen yet. */
  private async loadInstanceNames(flat: string[]): Promise<void> {
    for (let i = 0; i < flat.length; i += 2) {
      const f = flat[i];
      const idx = f === 'h' ? flat[i + 1] : f.startsWith('@') ? f.slice(1) : null;
      if (idx !== null && !this.instanceNames.has(idx)) {
        const all = await this.call(['HGETALL', this.p + 'inst']) as string[];
        for (let j = 0; j + 1 < all.length; j += 2) {
          if (all[j].startsWith('#')) this.instanceNames.set(all[j].slice(1), all[j + 1]);
        }
        return;
      }
    }
  }

  async listInstances(): Promise<string[]> {
    const out: string[] = [];
    let cur = '0';
    const prefixLen = this.instanceKey('').length;
    for (let step = 0; step < 100; step++) {
      const [after, keys] = await this.call(['SCAN', cur, 'MATCH', this.instanceKey('*'), 'COUNT', '100']) as [string, string[]];
      for (const k of keys) out.push(k.slice(prefixLen));
      cur = after;
      if (cur === '0') break;
    }
    return out.sort();
  }

  private sessionKey(id: string): string { return this.p + 's:' + id; }
  private instanceKey(id: string): string { return this.p + 'i:' + id; }
}
