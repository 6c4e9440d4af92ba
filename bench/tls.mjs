// TLS termination: handshakes/s and RSS per idle TLS connection, with the SNI contexts held in
// cordon's bounded LRU versus a context built per connection (the pattern one of the source
// write-ups found dominating memory). Both in one run, each server in its own child process so
// RSS is its own; the client is this process.
// Run: npm run build && node bench/tls.mjs   (env: CONNS=2000 SECONDS=5 CONCURRENCY=16)
import { fork, execFileSync } from 'node:child_process';
import { connect } from 'node:tls';
import { createServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONNS = Number(process.env.CONNS ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const NAMES = ['a.bench.test', 'b.bench.test', 'api.other.test'];

function makeCert(dir, name, cn, sans) {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`], { stdio: 'ignore' });
  return { cert, key };
}

// ---------------- server (child) ----------------
async function serve(mode, certs) {
  const { buildTlsServerOptions } = await import('../dist/proxy/tls/index.js');
  const { readFileSync } = await import('node:fs');
  const setup = buildTlsServerOptions({
    cert: certs.def.cert, key: certs.def.key, cache_size: 100,
    sni: [
      { servername: '*.bench.test', cert: certs.wild.cert, key: certs.wild.key },
      { servername: 'api.other.test', cert: certs.other.cert, key: certs.other.key },
    ],
  });
  let options = setup.options;
  if (mode === 'per-connection') {
    // the baseline: same certificates, but a SecureContext created for every handshake
    const pem = {
      wild: { cert: readFileSync(certs.wild.cert), key: readFileSync(certs.wild.key) },
      other: { cert: readFileSync(certs.other.cert), key: readFileSync(certs.other.key) },
    };
    options = {
      ...setup.options,
      SNICallback(name, cb) {
        const p = name.endsWith('.bench.test') ? pem.wild : name === 'api.other.test' ? pem.other : null;
        cb(null, p ? createSecureContext(p) : undefined);
      },
    };
  }
  const sockets = new Set();
  const server = createServer(options, (_req, res) => res.end('ok'));
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'rss') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      setTimeout(() => {
        globalThis.gc?.();
        process.send({ rss: process.memoryUsage().rss, open: sockets.size, stats: setup.sni.stats() });
      }, 300);
    } else if (m === 'exit') process.exit(0);
  });
}

// ---------------- client (parent) ----------------
function handshake(port, servername, keep) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      if (keep) resolve(s);
      else {
        s.destroy();
        resolve(null);
      }
    });
    s.on('error', reject);
  });
}

function ask(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

async function runMode(mode, certs) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', mode, JSON.stringify(certs)], { execArgv: ['--expose-gc'] });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  // warm-up, so both modes start with their lazily built state in place
  for (let i = 0; i < 50; i++) await handshake(port, NAMES[i % NAMES.length], false);
  // handshakes per second: CONCURRENCY loops of connect + full handshake + close
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
    let i = w;
    while (Date.now() < until) {
      await handshake(port, NAMES[i++ % NAMES.length], false);
      done++;
    }
  }));
  const hps = done / (Number(process.hrtime.bigint() - t0) / 1e9);
  await new Promise((r) => setTimeout(r, 500));
  // RSS per idle connection: open CONNS TLS connections, keep them, compare server RSS
  const before = await ask(child, 'rss');
  const held = [];
  for (let i = 0; i < CONNS; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(CONNS, i + 50); j++) batch.push(handshake(port, NAMES[j % NAMES.length], true));
    held.push(...(await Promise.all(batch)));
  }
  const after = await ask(child, 'rss');
  for (const s of held) s.destroy();
  child.send('exit');
  return { mode, hps, perConn: (after.rss - before.rss) / CONNS, open: after.open, rssMB: after.rss / 2 ** 20, stats: after.stats };
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3], JSON.parse(process.argv[4]));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-tls-'));
  try {
    const certs = {
      def: makeCert(dir, 'default', 'default.test', ['default.test']),
      wild: makeCert(dir, 'wild', '*.bench.test', ['*.bench.test']),
      other: makeCert(dir, 'other', 'api.other.test', ['api.other.test']),
    };
    console.log(`# TLS bench: ECDSA P-256, ${CONNS} idle connections, ${SECONDS}s of handshakes at concurrency ${CONCURRENCY}, node ${process.version}`);
    const rows = [];
    for (const mode of ['sni-lru', 'per-connection']) rows.push(await runMode(mode, certs));
    console.log('\n| server | handshakes/s | RSS per idle TLS connection | server RSS with conns open | contexts built |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) {
      const built = r.mode === 'sni-lru' ? String(r.stats.builds) : 'one per handshake';
      console.log(`| ${r.mode} | ${r.hps.toFixed(0)} | ${(r.perConn / 1024).toFixed(1)} KiB | ${r.rssMB.toFixed(0)} MiB (${r.open} open) | ${built} |`);
    }
    const [lru, per] = rows;
    console.log(`\nratio per-connection / LRU: RSS per connection ${(per.perConn / lru.perConn).toFixed(2)}x, handshakes/s ${(lru.hps / per.hps).toFixed(2)}x in favour of the LRU`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
