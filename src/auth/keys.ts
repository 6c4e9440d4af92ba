// API keys: the one owner of the key record (other parts, e.g. tools, read a key's fields from
// KeyRecord) and the ring the proxy looks keys up in. Keys are kept only as sha256 hashes; a key
// is shown once, when the control API creates it.
//
// Hot path: sha256 of a ~48-byte key costs ~1µs (bench/keys.mjs); the ring keeps the keys it
// has seen recently in a bounded Map (presented key → record), so a known key costs one Map
// lookup. Only known keys are cached: a client spraying random keys pays its own sha256 each time
// and cannot evict the agents' entries beyond one clear of a full cache.
import { createHash, randomBytes } from 'node:crypto';
import type { BudgetConfig } from '../config/spend-schema.js';

export interface ToolRules {
  allow?: string[];
  deny?: string[];
}

/** One API key, without its secret. */
export interface KeyRecord {
  readonly id: string;
  readonly agent: string;
  readonly team: string | null;
  readonly budget: BudgetConfig | null;
  /** per-key tool allow/deny globs (SPEC.md "Tools"), read by the tools part */
  readonly tools: ToolRules | null;
  /** from the config file, or created through the control API */
  readonly source: 'config' | 'api';
  /** epoch ms */
  readonly created_at: number;
}

/** What the proxy learns from a request's credential. */
export type KeyLookup =
  | { kind: 'none' }
  | { kind: 'key'; record: KeyRecord; header: 'authorization' | 'x-api-key' }
  /** a credential that is not one of ours: unknown, revoked or malformed */
  | { kind: 'bad'; header: 'authorization' | 'x-api-key' | null; why: 'unknown' | 'revoked' | 'malformed' };

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** A new secret: `ck-` + 43 base64url characters (256 random bits). */
export function newKeySecret(): string {
  return 'ck-' + randomBytes(32).toString('base64url');
}

/** A new key ID: `key_` + 16 hex digits. */
export function newKeyId(): string {
  return 'key_' + randomBytes(8).toString('hex');
}

const CACHE_MAX = 4096;

export class KeyRing {
  private readonly byHash = new Map<string, KeyRecord>();
  private readonly hashOf = new Map<string, string>();
  /** hashes of revoked keys: a revoked key gets 401 even when keys are optional */
  private readonly revoked = new Set<string>();
  private readonly cache = new Map<string, KeyRecord>();

  get size(): number {
    return this.byHash.size;
  }

  /** The record of a presented key, 'revoked', or undefined when unknown. */
  lookup(presented: string): KeyRecord | 'revoked' | undefined {
    const hit = this.cache.get(presented);
    if (hit !== undefined) return hit;
    const h = sha256Hex(presented);
    const rec = this.byHash.get(h);
    if (rec === undefined) return this.revoked.has(h) ? 'revoked' : undefined;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(presented, rec);
    return rec;
  }

  /** Adds (or replaces) a key by its hash. A hash revoked before stays revoked. */
  add(hash: string, rec: KeyRecord): boolean {
    if (this.revoked.has(hash)) return false;
    const old = this.hashOf.get(rec.id);
    if (old !== undefined && old !== hash) this.byHash.delete(old);
    this.byHash.set(hash, rec);
    this.hashOf.set(rec.id, hash);
    this.cache.clear();
    return true;
  }

  /** Revokes a key by ID; false when no such key is live. */
  revoke(id: string): boolean {
    const h = this.hashOf.get(id);
    if (h === undefined) return false;
    this.revokeHash(h);
    return true;
  }

  revokeHash(hash: string): void {
    const rec = this.byHash.get(hash);
    if (rec !== undefined) this.hashOf.delete(rec.id);
    this.byHash.delete(hash);
    this.revoked.add(hash);
    this.cache.clear();
  }

  /** Forgets a key without revoking it (a config key dropped by a reload). */
  remove(id: string): void {
    const h = this.hashOf.get(id);
    if (h === undefined) return;
    this.hashOf.delete(id);
    this.byHash.delete(h);
    this.cache.clear();
  }

  get(id: string): KeyRecord | undefined {
    const h = this.hashOf.get(id);
    return h === undefined ? undefined : this.byHash.get(h);
  }

  hashOfId(id: string): string | undefined {
    return this.hashOf.get(id);
  }

  list(): KeyRecord[] {
    return [...this.byHash.values()];
  }
}
