// The keys part: the ring built from the config and from storage, creation and revocation for the
// control API, and the check the proxy calls per request.
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema.js';
import type { BudgetConfig } from '../config/spend-schema.js';
import type { KeyRow, KeyTables } from '../storage/keys.js';
import { lookupCredential } from './credential.js';
import { KeyRing, newKeyId, newKeySecret, sha256Hex, type KeyLookup, type KeyRecord, type ToolRules } from './keys.js';

export interface NewKey {
  agent: string;
  team?: string;
  budget?: BudgetConfig;
  tools?: ToolRules;
}

/** A change to the ring another instance must apply (fleet mode). */
export type KeyChange = { op: 'add'; hash: string; record: KeyRecord } | { op: 'revoke'; hash: string };

const NONE: KeyLookup = { kind: 'none' };

export class Auth {
  readonly ring = new KeyRing();
  required: boolean;
  /** false while no key exists and none is required: the proxy skips the header check */
  private checking: boolean;
  private readonly changeListeners: Array<(c: KeyChange) => void> = [];

  constructor(cfg: Config, private readonly tables: KeyTables | null) {
    this.required = cfg.auth.required;
    this.addConfigKeys(cfg);
    // Stored rows: keys created at run time, and revocations (of those and of config keys).
    for (const row of tables?.keys() ?? []) {
      if (row.revoked_at !== null) this.ring.revokeHash(row.sha256);
      else this.ring.add(row.sha256, recordOf(row));
    }
    this.checking = this.required || this.ring.size > 0;
  }

  /** A config reload: the file's keys replace the previous file's; keys made at run time stay. */
  reconfigure(cfg: Config): void {
    for (const k of this.ring.list()) if (k.source === 'config') this.ring.remove(k.id);
    this.required = cfg.auth.required;
    this.addConfigKeys(cfg);
    this.checking = this.required || this.ring.size > 0;
  }

  private addConfigKeys(cfg: Config): void {
    const now = Date.now();
    for (const k of cfg.auth.keys) {
      this.ring.add(k.key_sha256, {
        id: k.id, agent: k.agent, team: k.team ?? null, budget: k.budget ?? null, tools: k.tools ?? null, source: 'config', created_at: now,
      });
    }
  }

  /** The per-request check: what the request's credential is, without parsing when keys are off. */
  check(headers: IncomingHttpHeaders): KeyLookup {
    if (!this.checking) return NONE;
    return lookupCredential(headers, this.ring);
  }

  create(k: NewKey, nowMs = Date.now()): { id: string; key: string; record: KeyRecord } {
    const key = newKeySecret();
    const id = newKeyId();
    const hash = sha256Hex(key);
    const record: KeyRecord = {
      id, agent: k.agent, team: k.team ?? null, budget: k.budget ?? null, tools: k.tools ?? null, source: 'api', created_at: nowMs,
    };
    // Stored before it is usable: a key handed out must survive a restart.
    this.tables?.insertKey({
      id, sha256: hash, agent: record.agent, team: record.team, budget: record.budget ? JSON.stringify(record.budget) : null,
      tools: record.tools ? JSON.stringify(record.tools) : null, created_at: nowMs, revoked_at: null,
    });
    this.ring.add(hash, record);
    this.checking = true;
    this.emit({ op: 'add', hash, record });
    return { id, key, record };
  }

  /** Revokes a key by ID; false when unknown. Takes effect on the next request. */
  revoke(id: string, nowMs = Date.now()): boolean {
    const rec = this.ring.get(id);
    const hash = this.ring.hashOfId(id);
    if (rec === undefined || hash === undefined) return false;
    this.tables?.revokeKey(id, hash, rec.agent, nowMs);
    this.ring.revokeHash(hash);
    this.emit({ op: 'revoke', hash });
    return true;
  }

  /** A change made on another instance (already stored there). */
  apply(c: KeyChange): void {
    if (c.op === 'add') {
      this.ring.add(c.hash, c.record);
      this.checking = true;
    } else {
      this.ring.revokeHash(c.hash);
    }
  }

  onChange(fn: (c: KeyChange) => void): void {
    this.changeListeners.push(fn);
  }

  list(): KeyRecord[] {
    return this.ring.list();
  }

  private emit(c: KeyChange): void {
    for (const fn of this.changeListeners) fn(c);
  }
}

function recordOf(row: KeyRow): KeyRecord {
  return {
    id: row.id, agent: row.agent, team: row.team, budget: parseJson(row.budget) as BudgetConfig | null,
    tools: parseJson(row.tools) as ToolRules | null, source: 'api', created_at: row.created_at,
  };
}

function parseJson(s: string | null): unknown {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
