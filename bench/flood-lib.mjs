// A seeded flood against the real gateway (`node dist/cli.js start --memory-limit L`), measured from
// outside (/proc/PID/status). One seed picks a mix of: slow readers of long SSE answers (chunks 1-64KB,
// a read every 50-2000ms, still connected after the flood), single SSE lines of megabytes read slowly,
// slow uploads, header trickles, bursts of new sessions, WebSocket floods of large frames into a
// client that does not read, and thousands of idle keep-alive connections. Used by bench/flood.mjs
// and, with a short seed, by test/e2e/flood.test.ts.
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const MiB = 1024 * 1024;
const KiB = 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so a seed replays the same mix. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

function status(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** The backend: long SSE answers, one-line SSE answers, an upload sink, a chat answer, a WebSocket that floods. */
async function startUpstream() {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/sse' || u.pathname === '/line') {
      const total = Number(u.searchParams.get('bytes'));
      const chunk = Number(u.searchParams.get('chunk') || 16 * KiB);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const line = u.pathname === '/line';
      const piece = Buffer.from(line ? 'x'.repeat(chunk) : `data: ${'y'.repeat(Math.max(1, chunk - 8))}\n\n`);
      if (line) res.write('data: ');
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += piece.length;
          if (!res.write(piece)) { res.once('drain', pump); return; }
        }
        res.end(line ? '\n\ndata: [DONE]\n\n' : 'data: [DONE]\n\n');
      };
      pump();
      res.on('error', () => undefined);
      return;
    }
    // uploads and chat requests: read the body, answer a small JSON
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}');
    });
    req.on('error', () => undefined);
  });
  server.keepAliveTimeout = 60_000;
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    const size = Number(new URL(req.url, 'http://x').searchParams.get('frame') || 256 * KiB);
    const frame = Buffer.alloc(size, 7);
    let stop = false;
    const pump = () => {
      // ws queues without bound: wait for its buffer to empty, so the upstream floods at socket speed.
      while (!stop && ws.bufferedAmount < 4 * size) ws.send(frame);
      if (!stop) setTimeout(pump, 5);
    };
    ws.on('close', () => { stop = true; });
    ws.on('error', () => { stop = true; });
    pump();
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { port, close: () => { wss.close(); server.closeAllConnections(); server.close(); } };
}

async function startGateway(upstreamPort, limitMb, extra = []) {
  const port = await freePort();
  const control = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'cordon-flood-'));
  const cfg = join(dataDir, 'c.yaml');
  writeFileSync(cfg, 'memory:\n  sample_interval: 250ms\n');
  const child = spawn(process.execPath, [CLI, 'start', '--config', cfg, '--listen', `127.0.0.1:${port}`, '--control-listen', `127.0.0.1:${control}`,
    '--upstream', `http://127.0.0.1:${upstreamPort}`, '--data-dir', dataDir, '--memory-limit', `${limitMb}MB`, '--policy', 'standard', '--log-level', 'warn', ...extra],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CORDON_UPSTREAM: '', CORDON_CONTROL_TOKEN: '' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  // The gateway must not outlive the harness (an interrupted run).
  const reap = () => { if (child.exitCode === null) child.kill('SIGKILL'); };
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${control}/healthz`)).status === 200) break;
    } catch { /* not yet */ }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`gateway did not start: ${stderr}`);
    await sleep(50);
  }
  return { child, port, control, stderr: () => stderr };
}

/** Parses the statuses and the first error body of the responses read on one raw socket. */
function classify(text, out) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  if (!m) return;
  const code = Number(m[1]);
  out.statuses[code] = (out.statuses[code] ?? 0) + 1;
  if (code === 503) {
    if (/\r\nretry-after: \d+/i.test(text) && /"type":"overloaded"/.test(text)) out.ok503++;
    else out.bad503++;
  }
}

/**
 * Runs one seed. `scale` shrinks every count (the CI test runs 0.2); `floodMs` is how long new work
 * keeps coming; after it the slow readers and idle connections stay while pressure is watched.
 */
export async function runFlood({ seed = 1, limitMb = 128, scale = 1, floodMs = 20_000, recoverMs = 20_000, log = () => undefined } = {}) {
  const r = rng(seed);
  const limit = limitMb * MiB;
  // Counts grow with the budget: the same flood shape, at a size that reaches the budget.
  const k = scale * Math.max(1, limitMb / 128);
  const mix = {
    slowReaders: Math.round(r.int(100, 400) * k),
    bigLines: Math.round(r.int(4, 30) * k),
    slowUploads: Math.round(r.int(20, 150) * k),
    trickles: Math.round(r.int(50, 300) * k),
    bursts: r.int(2, 6),
    burstSize: Math.round(r.int(300, 2000) * k),
    wsFloods: Math.round(r.int(4, 30) * k),
    idle: Math.round(r.int(800, 3000) * Math.min(k, 3)),
  };
  const up = await startUpstream();
  const gw = await startGateway(up.port, limitMb);
  const pid = gw.child.pid;
  const idleRss = status(pid).rss;
  const out = { seed, limitMb, mix, statuses: {}, ok503: 0, bad503: 0, acceptClosed: 0, healthFails: 0, memoryPollFails: 0, sseEndedWithError: 0, sseCut: 0, samples: [] };
  const sockets = new Set();
  const track = (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); return s; };
  let flooding = true;
  let peak = idleRss;
  const t0 = Date.now();
  let lastPressure = 'normal';
  const pressures = new Set();

  // RSS from outside every 50ms; /healthz and /control/memory every 250ms.
  const rssTimer = setInterval(() => {
    try { const { rss } = status(pid); if (rss > peak) peak = rss; out.samples.push([Date.now() - t0, rss]); } catch { /* exited */ }
  }, 50);
  let polling = true;
  const poll = (async () => {
    while (polling) {
      try {
        const h = await fetch(`http://127.0.0.1:${gw.control}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (h.status !== 200) out.healthFails++;
      } catch { out.healthFails++; }
      try {
        const m = await (await fetch(`http://127.0.0.1:${gw.control}/control/memory`, { signal: AbortSignal.timeout(2000) })).json();
        lastPressure = m.pressure;
        pressures.add(m.pressure);
      } catch { out.memoryPollFails++; }
      await sleep(250);
    }
  })();

  const connect = () => track(net.connect(gw.port, '127.0.0.1'));
  let tearingDown = false;
  // A connection the gateway closed before sending a byte: at critical, closed at accept.
  const onAcceptClose = (s, gotRef) => s.on('close', () => { if (gotRef.n === 0 && !tearingDown) out.acceptClosed++; });

  // Slow readers and one-line SSE answers: read `chunk` bytes every `every` ms, for as long as the run lasts.
  const slowReader = (path, sid) => {
    const s = connect();
    const chunk = r.int(1, 64) * KiB;
    const every = r.int(50, 2000);
    const got = { n: 0, head: '', tail: '' };
    onAcceptClose(s, got);
    s.write(`GET ${path} HTTP/1.1\r\nhost: x\r\nx-session-id: ${sid}\r\naccept: text/event-stream\r\n\r\n`);
    s.once('data', (d) => {
      got.n += d.length;
      got.head = d.subarray(0, 600).toString('latin1');
      classify(got.head, out);
      s.pause();
      const timer = setInterval(() => {
        const b = s.read(chunk) ?? s.read();
        if (b) { got.n += b.length; got.tail = (got.tail + b.subarray(-300).toString('latin1')).slice(-300); }
      }, every);
      s.once('close', () => {
        clearInterval(timer);
        const rest = s.read();
        if (rest) got.tail = (got.tail + rest.subarray(-300).toString('latin1')).slice(-300);
        if (got.head.startsWith('HTTP/1.1 200')) {
          if (got.tail.includes('event: error') && got.tail.includes('overloaded')) out.sseEndedWithError++;
          else if (!got.tail.includes('[DONE]')) out.sseCut++;
        }
      });
    });
  };

  const tasks = [];
  for (let i = 0; i < mix.slowReaders; i++) {
    slowReader(`/sse?bytes=${r.int(1, 20) * MiB}&chunk=${r.int(1, 64) * KiB}`, `slow-${seed}-${i}`);
    if (i % 50 === 49) await sleep(20);
  }
  for (let i = 0; i < mix.bigLines; i++) slowReader(`/line?bytes=${r.int(1, 8) * MiB}&chunk=${64 * KiB}`, `line-${seed}-${i}`);

  // Idle keep-alives: one small request each, then silence.
  for (let i = 0; i < mix.idle; i++) {
    const s = connect();
    const got = { n: 0 };
    onAcceptClose(s, got);
    s.write(`GET /v1/models HTTP/1.1\r\nhost: x\r\nx-session-id: idle-${seed}-${i % 200}\r\n\r\n`);
    s.on('data', (d) => { if (got.n === 0) classify(d.toString('latin1'), out); got.n += d.length; });
    if (i % 200 === 199) await sleep(10);
  }

  // Slow uploads: a declared body of 1-9MB sent in 16-64KB pieces every 100-1000ms while the flood lasts.
  for (let i = 0; i < mix.slowUploads; i++) {
    const s = connect();
    const size = r.int(1, 9) * MiB;
    // A valid chat body, so that an upload that completes is a normal request (not a 400 invalid_json).
    const prefix = '{"model":"m","messages":[{"role":"user","content":"';
    const body = Buffer.alloc(size, 97);
    body.write(prefix, 0, 'latin1');
    body.write('"}]}', size - 4, 'latin1');
    const pieceLen = r.int(16, 64) * KiB;
    const every = r.int(100, 1000);
    const got = { n: 0 };
    onAcceptClose(s, got);
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-session-id: up-${seed}-${i}\r\ncontent-length: ${size}\r\n\r\n`);
    let sent = 0;
    const timer = setInterval(() => {
      if (!flooding || sent >= size || s.destroyed) { clearInterval(timer); return; }
      s.write(body.subarray(sent, sent + pieceLen));
      sent += pieceLen;
    }, every);
    s.on('data', (d) => { if (got.n === 0) classify(d.toString('latin1'), out); got.n += d.length; });
    s.on('close', () => clearInterval(timer));
  }

  // Header trickles: a byte of the request head every 200-1500ms.
  for (let i = 0; i < mix.trickles; i++) {
    const s = connect();
    const head = `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-session-id: trickle-${seed}-${i}\r\nx-pad: ${'p'.repeat(r.int(10, 2000))}\r\n\r\n`;
    let at = 0;
    const got = { n: 0 };
    onAcceptClose(s, got);
    const timer = setInterval(() => {
      if (!flooding || at >= head.length || s.destroyed) { clearInterval(timer); return; }
      s.write(head[at++]);
    }, r.int(200, 1500));
    s.on('data', (d) => { if (got.n === 0) classify(d.toString('latin1'), out); got.n += d.length; });
    s.on('close', () => clearInterval(timer));
  }

  // WebSocket floods: the upstream sends frames of 64KB-1MB as fast as it can; the client never reads.
  for (let i = 0; i < mix.wsFloods; i++) {
    const s = connect();
    const got = { n: 0 };
    onAcceptClose(s, got);
    s.write(`GET /ws?frame=${r.int(64, 1024) * KiB} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\nx-session-id: ws-${seed}-${i}\r\n\r\n`);
    s.once('data', (d) => {
      got.n += d.length;
      const text = d.subarray(0, 400).toString('latin1');
      if (!text.startsWith('HTTP/1.1 101')) classify(text, out);
      else out.statuses[101] = (out.statuses[101] ?? 0) + 1;
      s.pause();
    });
  }

  // Bursts of new sessions: small chat requests, 64 at a time, spread over the flood.
  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello there' }] });
  for (let b = 0; b < mix.bursts; b++) {
    tasks.push((async () => {
      await sleep(r.int(0, Math.max(1, floodMs - 2000)));
      let next = 0;
      const worker = async () => {
        while (flooding && next < mix.burstSize) {
          const i = next++;
          await new Promise((resolve) => {
            const s = connect();
            const got = { n: 0 };
            onAcceptClose(s, got);
            s.setTimeout(5000, () => s.destroy());
            s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-session-id: burst-${seed}-${b}-${i}\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
            s.once('data', (d) => { got.n += d.length; classify(d.toString('latin1'), out); });
            s.on('close', resolve);
          });
        }
      };
      await Promise.all(Array.from({ length: 64 }, worker));
    })());
  }

  await sleep(floodMs);
  flooding = false;
  await Promise.all(tasks);
  const floodEnded = Date.now();
  const atFloodEnd = await fetch(`http://127.0.0.1:${gw.control}/control/memory?top=3`).then((x) => x.json()).catch(() => null);
  log(`seed ${seed}: flood over after ${floodEnded - t0}ms, pressure ${lastPressure}, peak ${(peak / MiB).toFixed(1)} MiB`);
  // After the flood: uploads and trickles have stopped sending (their sockets stay until the gateway's
  // timeouts), slow readers keep reading slowly. Wait for normal.
  let backAfter = null;
  while (Date.now() - floodEnded < recoverMs) {
    await sleep(250);
    if (lastPressure === 'normal') { backAfter = Date.now() - floodEnded; break; }
  }
  // A normal request now.
  let normalStatus = 0;
  let normalError = null;
  try {
    const res = await fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': `after-${seed}` }, body, signal: AbortSignal.timeout(5000) });
    normalStatus = res.status;
    await res.arrayBuffer();
  } catch (err) { normalStatus = -1; normalError = String(err?.cause?.code ?? err?.name ?? err); }
  const alive = gw.child.exitCode === null;
  const hwm = alive ? status(pid).hwm : NaN;
  const mem = alive ? await (await fetch(`http://127.0.0.1:${gw.control}/control/memory?top=3`)).json().catch(() => null) : null;
  polling = false;
  await poll;
  clearInterval(rssTimer);
  tearingDown = true;
  for (const s of sockets) s.destroy();
  gw.child.kill('SIGKILL');
  up.close();
  const rssAfter = out.samples.filter(([t]) => t >= floodEnded - t0).map(([, v]) => v);
  return {
    ...out,
    samples: undefined,
    idleRss,
    peakRss: Math.max(peak, Number.isFinite(hwm) ? hwm : 0),
    peakRatio: Math.max(peak, Number.isFinite(hwm) ? hwm : 0) / limit,
    backAfterMs: backAfter,
    normalStatus,
    normalError,
    alive,
    pressures: [...pressures],
    endRss: rssAfter.length ? rssAfter[rssAfter.length - 1] : NaN,
    resets: mem?.components?.buffers?.resets ?? null,
    /** what held memory when the flood stopped and at the end: MiB by component, and the top streams */
    held: [atFloodEnd, mem].map((m) => m && {
      rss: +(m.rss_bytes / MiB).toFixed(1), heap_used: +(m.heap_used_bytes / MiB).toFixed(1), heap_total: +(m.heap_total_bytes / MiB).toFixed(1),
      ...Object.fromEntries(Object.entries(m.components).map(([k, v]) => [k, `${(v.bytes / MiB).toFixed(1)}${v.count !== undefined ? `/${v.count}` : ''}`])),
      top: (m.streams ?? []).map((t) => `${t.kind}:${Math.round(t.buffered_bytes / 1024)}K`).join(' '),
    }),
    stderr: alive ? '' : gw.stderr(),
  };
}
