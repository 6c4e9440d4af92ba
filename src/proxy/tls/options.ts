// TLS termination for the proxy listener: https.ServerOptions built from config `tls`.
//
// A SecureContext holds the parsed certificate chain and key in OpenSSL (tens of KB each), so one
// must never be built per connection. Contexts are built once per certificate, on first use, and
// kept in an LRU bounded by `tls.cache_size`, keyed by the configured server name. Resolving the
// name a client sends is two Map lookups (exact, then `*.` + parent); an unknown name gets the
// default certificate without allocating anything, so a flood of random SNI names cannot grow
// memory.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ServerOptions } from 'node:https';
import type { Config } from '../../config/schema.js';
import { Lru } from './lru.js';
import { certWarnings, loadCertPair, TlsConfigError, type CertPair } from './certs.js';
import { HANDSHAKE_TIMEOUT_MS } from './guard.js';

export type TlsConfig = NonNullable<Config['tls']>;

interface SniEntry {
  /** as configured, lower-cased: `api.example.com` or `*.example.com` */
  servername: string;
  pair: CertPair;
}

export interface SniStats {
  /** contexts currently held by the LRU */
  cached: number;
  capacity: number;
  /** contexts built since start (a rebuild after eviction counts again) */
  builds: number;
  evictions: number;
  /** handshakes whose name matched no entry and got the default certificate */
  defaulted: number;
}

/** Lower-cases and drops one trailing dot, as DNS names compare. */
export function normalizeServername(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

export class SniContexts {
  private readonly exact = new Map<string, SniEntry>();
  /** keyed by the parent domain: `*.example.com` is stored as `example.com` */
  private readonly wildcard = new Map<string, SniEntry>();
  private readonly lru: Lru<string, SecureContext>;
  private builds = 0;
  private defaulted = 0;

  constructor(entries: readonly SniEntry[], capacity: number) {
    this.lru = new Lru(capacity);
    for (const e of entries) {
      if (e.servername.startsWith('*.')) this.wildcard.set(e.servername.slice(2), e);
      else this.exact.set(e.servername, e);
    }
  }

  /** The entry serving a client-sent name: exact first, then a one-label wildcard (RFC 6125). */
  entryFor(servername: string): SniEntry | undefined {
    const name = normalizeServername(servername);
    const hit = this.exact.get(name);
    if (hit) return hit;
    const dot = name.indexOf('.');
    return dot > 0 ? this.wildcard.get(name.slice(dot + 1)) : undefined;
  }

  /** The context for a client-sent name, or undefined for the listener's default certificate. */
  contextFor(servername: string): SecureContext | undefined {
    const entry = this.entryFor(servername);
    if (!entry) {
      this.defaulted++;
      return undefined;
    }
    let ctx = this.lru.get(entry.servername);
    if (!ctx) {
      ctx = createSecureContext({ cert: entry.pair.cert, key: entry.pair.key });
      this.builds++;
      this.lru.set(entry.servername, ctx);
    }
    return ctx;
  }

  /** Node's SNICallback; bound once so no closure is created per handshake. */
  readonly callback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    let ctx: SecureContext | undefined;
    try {
      ctx = this.contextFor(servername);
    } catch (err) {
      // the pair was checked at start; a failure here (file content changed in memory? OpenSSL
      // refusing) must fail this handshake only, not the process
      cb(err as Error);
      return;
    }
    cb(null, ctx);
  };

  stats(): SniStats {
    return { cached: this.lru.size, capacity: this.lru.capacity, builds: this.builds, evictions: this.lru.evictions, defaulted: this.defaulted };
  }
}

export interface TlsSetup {
  /** pass to https.createServer (or tls.createServer) */
  options: ServerOptions;
  sni: SniContexts;
  /** non-fatal problems (expired certificate, a name the certificate does not cover) to log at start */
  warnings: string[];
}

/**
 * Reads and checks every certificate and key named in `tls` and returns the server options.
 * Throws TlsConfigError naming the file for an unreadable, malformed or mismatched pair, and for
 * a server name configured twice.
 */
export function buildTlsServerOptions(tls: TlsConfig, now = Date.now()): TlsSetup {
  const main = loadCertPair('tls', tls.cert, tls.key);
  const warnings = certWarnings('tls', main, undefined, now);
  const entries: SniEntry[] = [];
  const seen = new Set<string>();
  tls.sni.forEach((s, i) => {
    const at = `tls.sni[${i}]`;
    const servername = normalizeServername(s.servername);
    if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(servername)) {
      throw new TlsConfigError(`${at}.servername`, s.cert, `"${s.servername}" is not a host name or *.domain wildcard`);
    }
    if (seen.has(servername)) throw new TlsConfigError(`${at}.servername`, s.cert, `${servername} is configured twice`);
    seen.add(servername);
    const pair = loadCertPair(at, s.cert, s.key);
    warnings.push(...certWarnings(at, pair, servername, now));
    entries.push({ servername, pair });
  });
  const sni = new SniContexts(entries, tls.cache_size);
  const options: ServerOptions = {
    cert: main.cert,
    key: main.key,
    // old protocol versions are off by Node's defaults already (TLSv1.2 minimum); stated for the reader
    minVersion: 'TLSv1.2',
    // a slow or stalled handshake holds TLS state: cut it after 10s instead of Node's 120s
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  };
  if (entries.length > 0) options.SNICallback = sni.callback;
  return { options, sni, warnings };
}
