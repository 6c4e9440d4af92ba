// bench:answers — what reading answers costs (issue #14, items 1 and 6):
//   decode   streaming decode throughput of ResponseDecoder (gzip, deflate, br) on chat-like JSON, in process,
//            beside zlib's one-shot decode of the same bytes
//   hold     a whole JSON answer through the gateway: gateway CPU µs per request and client latency p50/p99,
//            same run, interleaved rounds, for: policy off; standard in audit mode (scanned as it streams, not
//            held: the path before holding); standard (held until scanned); standard with a secret in every
//            answer (held and redacted); standard with a gzip answer (decoded, held, scanned)
// Usage: node bench/answers.mjs [decode|hold ...] [--sizes 2048,65536,524288] [--n 1500] [--rounds 3]
import http from 'node:http';
import * as zlib from 'node:zlib';
import { loadavg } from 'node:os';
import { cpuMsOf, freePort, startCordon, stop } from './lib.mjs';

const { ResponseDecoder } = await import('../dist/proxy/response-decoding.js');

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(`--${k}`); return i >= 0 ? args[i + 1] : d; };
const which = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const want = (k) => which.length === 0 || which.includes(k);
const SIZES = opt('sizes', '2048,65536,524288').split(',').map(Number);
const N = Number(opt('n', 1500));
const ROUNDS = Number(opt('rounds', 3));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const out = [];

/** Chat-completion JSON of about `size` bytes of varied English-like text. */
function answerJson(size, secret = '', seed = 7) {
  const words = ['the', 'lighthouse', 'keeper', 'watched', 'storm', 'roll', 'in', 'over', 'grey', 'water', 'and', 'counted', 'seconds', 'between', 'flashes', 'of', 'light', '.', ',', 'while', 'gulls', 'circled'];
  let s = '';
  let i = seed;
  while (s.length < size - 300) { i = (i * 1103515245 + 12345) & 0x7fffffff; s += words[i % words.length] + ' '; }
  const content = secret ? `${s.slice(0, s.length >> 1)}${secret} ${s.slice(s.length >> 1)}` : s;
  return Buffer.from(JSON.stringify({ id: 'chatcmpl-b', object: 'chat.completion', created: 1, model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 20, completion_tokens: Math.ceil(size / 4), total_tokens: 20 + Math.ceil(size / 4) } }));
}

if (want('decode')) {
  const plain = Buffer.concat(Array.from({ length: 64 }, (_, k) => answerJson(512 * 1024, '', 7 + k))); // 32MiB
  for (const coding of ['gzip', 'deflate', 'br']) {
    const packed = coding === 'gzip' ? zlib.gzipSync(plain) : coding === 'deflate' ? zlib.deflateSync(plain) : zlib.brotliCompressSync(plain, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
    const runs = [];
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      await new Promise((resolve, reject) => {
        let got = 0;
        const d = new ResponseDecoder(coding, 1 << 30, {
          decoded: (c) => { got += c.length; return true; },
          decodedEnd: () => (got === plain.length ? resolve() : reject(new Error(`decoded ${got} of ${plain.length}`))),
          decodeFailed: (why) => reject(new Error(why)),
          decoderDrained: () => {},
        });
        // 16KiB chunks, as a socket hands them over; a backlogged decoder is waited for
        let at = 0;
        const pump = () => {
          while (at < packed.length) {
            const ok = d.write(packed.subarray(at, at + 16384));
            at += 16384;
            if (!ok) return void setImmediate(pump);
          }
          d.end();
        };
        pump();
      });
      runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const t1 = process.hrtime.bigint();
    if (coding === 'gzip') zlib.gunzipSync(packed); else if (coding === 'deflate') zlib.inflateSync(packed); else zlib.brotliDecompressSync(packed);
    const oneShot = Number(process.hrtime.bigint() - t1) / 1e6;
    const ms = pct(runs, 50);
    out.push(`decode ${coding}: ${(plain.length / 1048576 / (ms / 1000)).toFixed(0)} MiB/s decoded (median of 3, 32MiB, ratio ${(plain.length / packed.length).toFixed(1)}:1, 16KiB writes); zlib one-shot ${(plain.length / 1048576 / (oneShot / 1000)).toFixed(0)} MiB/s; load ${load()}`);
  }
}

if (want('hold')) {
  const SECRET = 'AKIA' + 'IOSFODNN7EXAMPLE';
  const bodies = new Map();
  for (const s of SIZES) {
    bodies.set(`${s}`, answerJson(s));
    bodies.set(`${s}-secret`, answerJson(s, SECRET));
    bodies.set(`${s}-gzip`, zlib.gzipSync(answerJson(s)));
  }
  const upPort = await freePort();
  const upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['x-b']);
      const body = bodies.get(key);
      const h = { 'content-type': 'application/json', 'content-length': body.length };
      if (key.endsWith('-gzip')) h['content-encoding'] = 'gzip';
      res.writeHead(200, h);
      res.end(body);
    });
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise((r) => upstream.listen(upPort, '127.0.0.1', r));
  const configs = [
    { name: 'policy off', args: ['--policy', 'off'], body: '' },
    { name: 'standard, audit (scanned, streamed through)', args: ['--policy', 'standard', '--mode', 'audit'], body: '' },
    { name: 'standard (held, scanned)', args: ['--policy', 'standard'], body: '' },
    { name: 'standard, secret redacted', args: ['--policy', 'standard'], body: '-secret' },
    { name: 'standard, gzip answer (decoded, held)', args: ['--policy', 'standard'], body: '-gzip' },
  ];
  const gws = [];
  for (const c of configs) {
    const { child, port } = await startCordon(upPort, ['--log-level', 'warn', '--hold-response-max', '1MB', ...c.args]);
    gws.push({ ...c, port, child });
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const once = (port, key, sid) => new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent,
      headers: { 'content-type': 'application/json', 'x-session-id': sid, 'x-b': key, 'accept-encoding': 'gzip' } }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve([Number(process.hrtime.bigint() - t0) / 1e6, n]) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end('{"model":"bench","messages":[{"role":"user","content":"tell me a story"}]}');
  });
  for (const size of SIZES) {
    const stats = gws.map(() => ({ lat: [], cpu: 0, n: 0 }));
    for (let round = 0; round < ROUNDS; round++) {
      for (let g = 0; g < gws.length; g++) {
        const gw = gws[g];
        const key = `${size}${gw.body}`;
        for (let i = 0; i < 50; i++) await once(gw.port, key, `warm-${g}`); // warm-up
        const c0 = cpuMsOf(gw.child.pid);
        for (let i = 0; i < N; i++) stats[g].lat.push((await once(gw.port, key, `s-${g}-${i % 20}`))[0]);
        stats[g].cpu += cpuMsOf(gw.child.pid) - c0;
        stats[g].n += N;
      }
    }
    const base = stats[1].cpu / stats[1].n;
    for (let g = 0; g < gws.length; g++) {
      const st = stats[g];
      const us = (st.cpu / st.n) * 1000;
      out.push(`hold ${size}B ${gws[g].name}: ${us.toFixed(0)} µs CPU/request (${(st.cpu / st.n / base).toFixed(2)}x audit), latency p50 ${pct(st.lat, 50).toFixed(2)} ms p99 ${pct(st.lat, 99).toFixed(2)} ms; ${st.n} requests; load ${load()}`);
    }
  }
  agent.destroy();
  for (const gw of gws) await stop(gw.child);
  upstream.close();
}

console.log(out.join('\n'));
