import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:https';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { buildTlsServerOptions, TlsConfigError, Lru, guardTlsAccept, HANDSHAKE_TIMEOUT_MS, type TlsConfig } from '../../src/proxy/tls/index.js';
import { makeCert } from './certs.js';

let dir: string;
let def: { cert: string; key: string };
let api: { cert: string; key: string };
let wild: { cert: string; key: string };
let other: { cert: string; key: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cordon-tls-'));
  def = makeCert(dir, 'default', 'default.test');
  api = makeCert(dir, 'api', 'api.test');
  wild = makeCert(dir, 'wild', '*.wild.test');
  other = makeCert(dir, 'other', 'other.test');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cfg(over: Partial<TlsConfig> = {}): TlsConfig {
  return {
    cert: def.cert, key: def.key, cache_size: 100,
    sni: [
      { servername: 'api.test', cert: api.cert, key: api.key },
      { servername: '*.wild.test', cert: wild.cert, key: wild.key },
    ],
    ...over,
  };
}

/** The CN of the certificate a server presents for `servername`. */
function presentedCN(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(Array.isArray(cn) ? cn[0] : cn);
    });
    s.on('error', reject);
  });
}

describe('TLS termination options', () => {
  let server: Server;
  let port: number;
  let setup: ReturnType<typeof buildTlsServerOptions>;

  beforeAll(async () => {
    setup = buildTlsServerOptions(cfg());
    server = createServer(setup.options, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('serves the SNI certificate for an exact name, a wildcard name, and the default otherwise', async () => {
    expect(setup.warnings).toEqual([]);
    expect(await presentedCN(port, 'api.test')).toBe('api.test');
    expect(await presentedCN(port, 'API.Test.')).toBe('api.test');
    expect(await presentedCN(port, 'a.wild.test')).toBe('*.wild.test');
    expect(await presentedCN(port, 'b.wild.test')).toBe('*.wild.test');
    // one label only: neither the bare domain nor a deeper name match the wildcard
    expect(await presentedCN(port, 'wild.test')).toBe('default.test');
    expect(await presentedCN(port, 'x.y.wild.test')).toBe('default.test');
    expect(await presentedCN(port, 'unknown.test')).toBe('default.test');
  });

  it('builds each context once and does not grow with unknown names', async () => {
    const before = setup.sni.stats();
    for (let i = 0; i < 5; i++) await presentedCN(port, `h${i}.wild.test`);
    for (let i = 0; i < 20; i++) await presentedCN(port, `random-${i}.example`);
    const after = setup.sni.stats();
    expect(after.builds).toBe(2); // api.test and *.wild.test, once each, across every handshake
    expect(after.cached).toBe(2);
    expect(after.defaulted - before.defaulted).toBe(20);
  });

  it('the LRU bounds the contexts held: capacity 1 keeps one and rebuilds on alternation', () => {
    const s = buildTlsServerOptions(cfg({ cache_size: 1 })).sni;
    const a = s.contextFor('api.test');
    expect(s.contextFor('api.test')).toBe(a);
    s.contextFor('x.wild.test');
    s.contextFor('api.test');
    const st = s.stats();
    expect(st.cached).toBe(1);
    expect(st.builds).toBe(3);
    expect(st.evictions).toBe(2);
  });

  it('without SNI entries there is no SNICallback', () => {
    expect(buildTlsServerOptions(cfg({ sni: [] })).options.SNICallback).toBeUndefined();
  });
});

describe('bad certificates and keys', () => {
  function err(c: TlsConfig): TlsConfigError {
    try {
      buildTlsServerOptions(c);
    } catch (e) {
      expect(e).toBeInstanceOf(TlsConfigError);
      return e as TlsConfigError;
    }
    throw new Error('expected a TlsConfigError');
  }

  it('a missing file is named', () => {
    const e = err(cfg({ cert: join(dir, 'nope.crt') }));
    expect(e.message).toBe(`tls.cert: cannot read ${join(dir, 'nope.crt')} (no such file)`);
    expect(e.file).toBe(join(dir, 'nope.crt'));
    expect(e.code).toBe('tls_config');
  });

  it('an unreadable file is named', () => {
    if (process.getuid?.() === 0) return; // root reads anything
    const f = join(dir, 'noperm.key');
    writeFileSync(f, 'x');
    chmodSync(f, 0o000);
    expect(err(cfg({ key: f })).message).toBe(`tls.key: cannot read ${f} (permission denied)`);
  });

  it('a key that does not belong to the certificate is named', () => {
    const e = err(cfg({ key: other.key }));
    expect(e.message).toBe(`tls.key: ${other.key} does not match the certificate ${def.cert}`);
    const e2 = err(cfg({ sni: [{ servername: 'api.test', cert: api.cert, key: wild.key }] }));
    expect(e2.message).toBe(`tls.sni[0].key: ${wild.key} does not match the certificate ${api.cert}`);
  });

  it('garbage instead of PEM is named', () => {
    const f = join(dir, 'garbage.pem');
    writeFileSync(f, 'not a certificate\n');
    expect(err(cfg({ cert: f })).message).toBe(`tls.cert: ${f} is not a PEM or DER certificate`);
    expect(err(cfg({ key: f })).message).toBe(`tls.key: ${f} is not an unencrypted PEM private key`);
    // a certificate given where the key belongs
    expect(err(cfg({ key: def.cert })).message).toContain(`tls.key: ${def.cert}`);
  });

  it('a duplicate or malformed server name is refused', () => {
    expect(err(cfg({ sni: [{ servername: 'api.test', ...api }, { servername: 'API.test', ...api }] })).message).toContain('configured twice');
    expect(err(cfg({ sni: [{ servername: 'a.*.test', ...api }] })).message).toContain('is not a host name');
  });

  it('warns about a name the certificate does not cover and an expired certificate', () => {
    const w = buildTlsServerOptions(cfg({ sni: [{ servername: 'nothere.test', ...api }] }), Date.now() + 10 * 86_400_000).warnings;
    expect(w).toContain(`tls.sni[0].servername: nothere.test is not covered by the certificate ${api.cert}`);
    expect(w.some((x) => x.startsWith(`tls.cert: ${def.cert} expired on`))).toBe(true);
  });
});

describe('accept guard', () => {
  function tryHandshake(port: number): Promise<'ok' | 'refused'> {
    return new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port, servername: 'api.test', rejectUnauthorized: false }, () => { resolve('ok'); s.end(); });
      s.on('error', () => resolve('refused'));
    });
  }

  it('drops new connections before any TLS state while refusing, and caps open connections', async () => {
    const setup = buildTlsServerOptions(cfg());
    expect(setup.options.handshakeTimeout).toBe(HANDSHAKE_TIMEOUT_MS);
    const server = createServer(setup.options, (_q, r) => r.end('ok'));
    let critical = true;
    const guard = guardTlsAccept(server, { refuse: () => critical, maxConnections: 2 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await tryHandshake(port)).toBe('refused');
      expect(guard.refused).toBe(1);
      expect(setup.sni.stats().builds).toBe(0); // no context was built for a refused connection
      critical = false;
      const held: import('node:tls').TLSSocket[] = [];
      for (let i = 0; i < 2; i++) {
        held.push(await new Promise((res, rej) => {
          const s = connect({ host: '127.0.0.1', port, servername: 'api.test', rejectUnauthorized: false }, () => res(s));
          s.on('error', rej);
        }));
      }
      expect(guard.open).toBe(2);
      expect(await tryHandshake(port)).toBe('refused');
      for (const s of held) s.destroy();
      await expect.poll(() => guard.open).toBe(0);
      expect(await tryHandshake(port)).toBe('ok');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('Lru', () => {
  it('evicts the least recently used', () => {
    const l = new Lru<string, number>(2);
    l.set('a', 1);
    l.set('b', 2);
    l.get('a');
    l.set('c', 3);
    expect(l.has('a')).toBe(true);
    expect(l.has('b')).toBe(false);
    expect(l.size).toBe(2);
    expect(l.evictions).toBe(1);
  });
});
