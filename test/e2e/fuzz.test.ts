// A seeded, bounded fuzz of the built binary over raw sockets (issue #20): request lines and headers,
// JSON bodies, SSE streams from a fuzzing upstream, and WebSocket frames both ways. It asserts that
// the process never crashes or hangs a connection, that every answer of the gateway's own is a SPEC
// error (`{"error":{"message","type","code"}}`, also inside `event: error`), and that RSS stays under
// the memory limit. Rerun a failure with CORDON_FUZZ_SEED=<seed>; CORDON_FUZZ_SCALE multiplies the counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { startGateway, type GatewayProc } from '../helpers/procs.js';
import { controlRequest, jsonBody, rawRequest, sample, sseStream, wsCase } from '../fuzz/gen.js';
import { parseResponses, specErrorProblem, sseErrorProblems } from '../fuzz/check.js';
import { startFuzzUpstream, type FuzzUpstream } from '../fuzz/upstream.js';

const SEED = Number(process.env.CORDON_FUZZ_SEED ?? 2_020_2026);
const SCALE = Number(process.env.CORDON_FUZZ_SCALE ?? 1);
const N = { heads: 8_000 * SCALE, control: 1_500 * SCALE, json: 8_000 * SCALE, sse: 2_500 * SCALE, ws: 1_500 * SCALE };
const LIMIT_MB = 256;
const CONN_TIMEOUT_MS = 15_000;
const QUIET_MS = 400;

/** Runs `one` over 0..n-1, `width` at a time. */
async function pool(n: number, width: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await one(next++);
  }));
}

/**
 * Writes `bytes` and collects the answer until the gateway closes. An input that is not a whole
 * request gets no answer while the gateway waits for the rest: after QUIET_MS of silence the
 * harness half-closes, and then a close without an answer is allowed (node drops a request whose
 * client half-closed; `halfClosed` says so).
 */
function exchange(port: number, bytes: Buffer): Promise<{ data: Buffer; timedOut: boolean; halfClosed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let halfClosed = false;
    const quiet = setTimeout(() => { halfClosed = true; s.end(); }, QUIET_MS);
    const timer = setTimeout(() => { s.destroy(); resolve({ data: Buffer.concat(parts), timedOut: true, halfClosed }); }, CONN_TIMEOUT_MS);
    s.on('data', (d: Buffer) => { clearTimeout(quiet); parts.push(d); });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(quiet); clearTimeout(timer); resolve({ data: Buffer.concat(parts), timedOut: false, halfClosed }); });
    s.write(bytes);
  });
}

describe(`fuzz against the built binary (seed ${SEED}; rerun with CORDON_FUZZ_SEED=${SEED})`, () => {
  let up: FuzzUpstream;
  let gw: GatewayProc;
  let port = 0;
  let maxRssMb = 0;
  let sampler: NodeJS.Timeout;
  const problems: string[] = [];
  let inputs = 0;
  const started = Date.now();
  const note = (kind: string, i: number, what: string): void => { if (problems.length < 20) problems.push(`${kind}#${i}: ${what}`); };

  const sse = sample(sseStream, SEED + 3, N.sse);
  const ws = sample(wsCase, SEED + 4, N.ws);

  beforeAll(async () => {
    up = await startFuzzUpstream(sse, ws.map((w) => w.upstream));
    gw = await startGateway(['--upstream', up.url, '--memory-limit', `${LIMIT_MB}MB`, '--max-body', '64KB']);
    port = Number(new URL(gw.proxy).port);
    const pid = gw.child.pid!;
    sampler = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) maxRssMb = Math.max(maxRssMb, Number(m[1]) / 1024);
      } catch { /* exited: the crash check below says so */ }
    }, 200);
  }, 30_000);

  afterAll(async () => {
    clearInterval(sampler);
    await gw?.stop();
    await up?.close();
  });

  it('request lines and headers', async () => {
    problems.length = 0;
    const reqs = sample(rawRequest, SEED + 1, N.heads);
    await pool(reqs.length, 48, async (i) => {
      const bytes = reqs[i];
      const { data, timedOut, halfClosed } = await exchange(port, bytes);
      inputs++;
      if (timedOut) return note('head', i, `no answer in ${CONN_TIMEOUT_MS}ms to ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
      if (data.length === 0 && halfClosed) return;
      if (data.length === 0) return note('head', i, `closed without an answer: ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
      const head = /^[\r\n]*HEAD /.test(bytes.toString('latin1', 0, 50)); // node skips empty lines before a request
      const rs = parseResponses(data, head);
      if (rs === null) return note('head', i, `unparseable answer ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
      for (const r of rs) {
        if (r.headers.get('x-fuzz-upstream') === '1' || r.status < 400 || head) continue;
        const p = specErrorProblem(r.body);
        if (p !== null) note('head', i, `${r.status} ${p} for ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
      }
    });
    expect(problems, `seed ${SEED}`).toEqual([]);
  }, 120_000);

  it('control listener requests (paths, IDs, Host, Origin, body types)', async () => {
    problems.length = 0;
    const reqs = sample(controlRequest, SEED + 5, N.control);
    const controlPort = Number(new URL(gw.control).port);
    await pool(reqs.length, 24, async (i) => {
      const bytes = reqs[i];
      const { data, timedOut, halfClosed } = await exchange(controlPort, bytes);
      inputs++;
      const shown = JSON.stringify(bytes.toString('latin1').slice(0, 200));
      if (timedOut) return note('control', i, `no answer in ${CONN_TIMEOUT_MS}ms to ${shown}`);
      if (data.length === 0 && halfClosed) return;
      if (data.length === 0) return note('control', i, `closed without an answer: ${shown}`);
      const head = bytes.toString('latin1', 0, 5) === 'HEAD ';
      const rs = parseResponses(data, head);
      if (rs === null) return note('control', i, `unparseable answer ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
      for (const r of rs) {
        if (r.status < 400 || head) continue;
        const p = specErrorProblem(r.body);
        if (p !== null) note('control', i, `${r.status} ${p} for ${shown}`);
      }
    });
    expect(problems, `seed ${SEED}`).toEqual([]);
  }, 120_000);

  it('JSON bodies', async () => {
    problems.length = 0;
    const cases = sample(jsonBody, SEED + 2, N.json);
    const client = new Pool(gw.proxy, { connections: 16, pipelining: 1 });
    await pool(cases.length, 32, async (i) => {
      const c = cases[i];
      const headers: Record<string, string> = { 'content-type': c.contentType };
      if (c.session !== null) headers['x-session-id'] = c.session;
      let status = 0;
      let fromUpstream = false;
      let body = '';
      try {
        const r = await client.request({ method: 'POST', path: c.path, headers, body: c.body });
        status = r.statusCode;
        fromUpstream = r.headers['x-fuzz-upstream'] === '1';
        body = await r.body.text();
      } catch (err) {
        if ((err as { code?: string }).code === 'UND_ERR_INVALID_ARG') return; // the client refused to send it
        return note('json', i, `request failed: ${(err as Error).message}`);
      }
      inputs++;
      if (!fromUpstream && status >= 400) {
        const p = specErrorProblem(body);
        if (p !== null) note('json', i, `${status} ${p}`);
      }
    });
    await client.close();
    expect(problems, `seed ${SEED}`).toEqual([]);
  }, 120_000);

  it('SSE streams from a fuzzing upstream', async () => {
    problems.length = 0;
    const client = new Pool(gw.proxy, { connections: 16, pipelining: 1 });
    const req = Buffer.from('{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}');
    await pool(sse.length, 32, async (i) => {
      let body = '';
      try {
        const r = await client.request({ method: 'POST', path: '/sse', headers: { 'content-type': 'application/json', 'x-fuzz-case': String(i), 'x-session-id': `sse-${i}` }, body: req });
        const fromUpstream = r.headers['x-fuzz-upstream'] === '1';
        try { body = await r.body.text(); } catch { /* the upstream reset mid-stream: the gateway cuts the stream */ }
        inputs++;
        if (!fromUpstream && r.statusCode >= 400) {
          const p = specErrorProblem(body);
          if (p !== null) note('sse', i, `${r.statusCode} ${p}`);
        } else {
          const p = sseErrorProblems(body);
          if (p !== null) note('sse', i, p);
        }
      } catch (err) {
        note('sse', i, `request failed: ${(err as Error).message} ${JSON.stringify({ ct: sse[i].contentType, reset: sse[i].reset, pieces: sse[i].pieces.map((p) => p.toString('latin1').slice(0, 60)) })}`);
      }
    });
    await client.close();
    expect(problems, `seed ${SEED}`).toEqual([]);
  }, 120_000);

  it('WebSocket frames both ways', async () => {
    problems.length = 0;
    await pool(ws.length, 32, async (i) => {
      const upgrade = Buffer.from(`GET /ws/${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Session-ID: ws-${i}\r\n\r\n`, 'latin1');
      const { data, timedOut } = await exchange(port, Buffer.concat([upgrade, ...ws[i].client]));
      inputs++;
      if (timedOut) return note('ws', i, `no close in ${CONN_TIMEOUT_MS}ms`);
      const text = data.toString('latin1', 0, Math.min(data.length, 4096));
      if (text.startsWith('HTTP/1.1 101')) return;
      if (data.length === 0) return; // the upstream reset before its answer reached the gateway's reply
      const rs = parseResponses(data, false);
      if (rs === null || rs.length === 0) return note('ws', i, `unparseable refusal ${JSON.stringify(text.slice(0, 200))}`);
      const p = specErrorProblem(rs[0].body);
      if (p !== null) note('ws', i, `${rs[0].status} ${p}`);
    });
    expect(problems, `seed ${SEED}`).toEqual([]);
  }, 120_000);

  it('the process is alive, still serves, and RSS stayed under the memory limit', async () => {
    expect(gw.child.exitCode, `seed ${SEED}: ${gw.stderr}`).toBeNull();
    expect((await fetch(`${gw.control}/healthz`)).status).toBe(200);
    const fatal = gw.logs.filter((l) => Number(l.level) >= 60 || /uncaught|unhandled/i.test(String(l.msg)));
    expect(fatal, `seed ${SEED}`).toEqual([]);
    expect(gw.stderr, `seed ${SEED}`).not.toMatch(/\n\s+at /);
    expect(maxRssMb, `seed ${SEED}`).toBeLessThan(LIMIT_MB);
    expect(inputs).toBeGreaterThanOrEqual(20_000 * SCALE);
    console.log(`fuzz seed ${SEED}: ${inputs} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s, max RSS ${maxRssMb.toFixed(0)} MiB`);
  });
});
