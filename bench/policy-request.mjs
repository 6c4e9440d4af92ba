// Micro-benchmark of the policy engine's per-request work as the proxy does it for one small,
// non-streamed chat exchange: JSON.parse of the body (the proxy needs it anyway, timed apart),
// inspectRequest, openResponse, write per chunk, end (twice, as the proxy does), settleResponse.
// Compares preset 'standard' with 'off' (and, with `base=<dist dir>`, another build) interleaved
// in one run. Reports µs and heap bytes per request. Run with --expose-gc after `npx tsc -p .`.
//   node --expose-gc bench/policy-request.mjs [--iters N] [--rounds R] [base=/path/to/dist]
import { PROFILE_BOUNDS } from '../dist/config/profiles.js';
import v8 from 'node:v8';
import { CHAT_BODY } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const ITERS = opt('--iters', 100_000);
const ROUNDS = opt('--rounds', 5);
const SESSIONS = opt('--sessions', 64);
const base = args.find((a) => a.startsWith('base='))?.slice(5);

const REPLY = Buffer.from(JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: 'mock-gpt',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The keeper held the light through the storm. At dawn the sea was calm again.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 40, completion_tokens: 20, total_tokens: 60 },
}));
const BODY = Buffer.from(CHAT_BODY);

async function load(dir) {
  const { createPolicyEngine } = await import(`${dir}/policy/index.js`);
  return (preset) => createPolicyEngine({ preset, rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
}

/** One request as src/proxy/exchange.ts runs it. Each session slot sends the same body again,
 * as a benchmark client without history does. */
function once(engine, slot, now) {
  const json = JSON.parse(BODY.toString('utf8'));
  let hits = engine.inspectRequest(slot, BODY, json, '/v1/chat/completions', now);
  const ins = engine.openResponse(slot, 'application/json', '/v1/chat/completions');
  let tokens = 0, tools = 0;
  if (ins) {
    hits = ins.write(REPLY) ?? hits;
    hits = ins.end() ?? hits;
    ins.end();
    tokens = ins.tokens;
    tools = ins.toolCalls;
  }
  hits = engine.settleResponse(slot, tokens, tools, now) ?? hits;
  return hits;
}

function parseOnly(slot) {
  return JSON.parse(BODY.toString('utf8'));
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function measure(fn, engine) {
  let sink = 0;
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  const now = Date.now();
  for (let i = 0; i < ITERS; i++) {
    const r = fn(engine, i % SESSIONS, now + (i >> 10));
    if (r) sink++;
  }
  const t1 = process.hrtime.bigint();
  return { us: Number(t1 - t0) / 1000 / ITERS, sink };
}

/**
 * Heap bytes allocated per request: used heap growth over a batch small enough to run without a
 * GC (after a forced one), median of 21 batches (a batch a GC interrupted reads low and is dropped if negative).
 */
function allocPerReq(fn, engine) {
  const N = 200;
  const now = Date.now();
  const seen = [];
  for (let r = 0; r < 21; r++) {
    globalThis.gc?.();
    const a = v8.getHeapStatistics().used_heap_size;
    for (let i = 0; i < N; i++) fn(engine, i % SESSIONS, now);
    const b = v8.getHeapStatistics().used_heap_size;
    if (b > a) seen.push((b - a) / N);
  }
  return seen.length ? median(seen) : NaN;
}

const variants = [];
const mk = await load('../dist');
variants.push({ name: 'standard', engine: mk('standard'), fn: once });
variants.push({ name: 'off', engine: mk('off'), fn: once });
if (base) {
  const mkb = await load(base);
  variants.push({ name: 'base standard', engine: mkb('standard'), fn: once });
  variants.push({ name: 'base off', engine: mkb('off'), fn: once });
}
variants.push({ name: 'JSON.parse only', engine: null, fn: parseOnly });

// warm up
for (const v of variants) for (let i = 0; i < 20_000; i++) v.fn(v.engine, i % SESSIONS, Date.now());

const res = new Map(variants.map((v) => [v.name, []]));
for (let r = 0; r < ROUNDS; r++) for (const v of variants) res.get(v.name).push(measure(v.fn, v.engine).us);

console.log(`node ${process.version}, ${ITERS} requests x ${ROUNDS} interleaved rounds, ${SESSIONS} sessions, body ${BODY.length} B, reply ${REPLY.length} B`);
console.log('| variant | µs/req (median) | min | B/req allocated |');
console.log('|---|---|---|---|');
for (const v of variants) {
  const a = res.get(v.name);
  console.log(`| ${v.name} | ${median(a).toFixed(2)} | ${Math.min(...a).toFixed(2)} | ${Math.round(allocPerReq(v.fn, v.engine))} |`);
}
