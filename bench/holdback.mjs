// Hold-back over streamed answers (policy/sse-hold.ts), measured through the engine's inspector
// as the proxy drives it (write a chunk, take what goes out):
// - added delay on text with no open candidate: for every event, whether it went out in the same
//   write that brought it (0 = no delay) and whether it went out as the very bytes it came in;
// - CPU per event: the standard preset in enforce mode (hold-back on) against audit mode (same
//   rules, scanned, nothing held), interleaved in one run (same-run ratio);
// - bytes held per stream: the most inspector.bytes() reached while secrets stream one character
//   per delta in one choice and in two interleaved choices.
//   npm run bench:holdback    (node bench/holdback.mjs [--events N] [--rounds R])
import { PROFILE_BOUNDS } from '../dist/config/profiles.js';
import { createPolicyEngine } from '../dist/policy/index.js';
import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const EVENTS = opt('--events', 20_000);
const ROUNDS = opt('--rounds', 5);

const engine = (mode) => createPolicyEngine({ preset: 'standard', rules: [], bounds: PROFILE_BOUNDS.standard, mode });
const sse = (i, content) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [{ index: i, delta: { content }, finish_reason: null }] })}\n\n`;
const WORDS = ['The', ' keeper', ' held', ' the', ' light', ' through', ' the', ' storm', '.', ' At', ' dawn', ' the', ' sea', ' was', ' calm', ' again', '.'];
const chunks = Array.from({ length: EVENTS }, (_, i) => Buffer.from(sse(0, WORDS[i % WORDS.length])));

function clean(mode) {
  const insp = engine(mode).openResponse(1, 'text/event-stream', '/v1/chat/completions');
  let delayed = 0;
  let copied = 0;
  const t0 = process.hrtime.bigint();
  for (const c of chunks) {
    insp.write(c);
    const out = insp.holdsBack ? insp.take() : c;
    if (out === null) delayed++;
    else if (out !== c) copied++;
  }
  insp.end();
  const ns = Number(process.hrtime.bigint() - t0) / chunks.length;
  return { ns, delayed, copied };
}

function held(texts) {
  const insp = engine('enforce').openResponse(1, 'text/event-stream', '/v1/chat/completions');
  let max = 0;
  const longest = Math.max(...texts.map((t) => t.length));
  for (let k = 0; k < longest; k++) {
    texts.forEach((t, i) => { if (k < t.length) { insp.write(Buffer.from(sse(i, t[k]))); insp.take(); max = Math.max(max, insp.bytes()); } });
  }
  insp.end();
  return max;
}

const on = [];
const off = [];
let delayed = 0;
let copied = 0;
clean('enforce'); clean('audit'); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const a = clean('enforce');
  const b = clean('audit');
  on.push(a.ns);
  off.push(b.ns);
  delayed += a.delayed;
  copied += a.copied;
}
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const AWS = 'AKIA' + 'Z7QK2M4X9B3N5P1R';
const GH = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const OPENAI = 'sk-proj-' + 'Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5Ab3dE5gH7jK9';
console.log(`events with no candidate: ${EVENTS * ROUNDS}; delayed past their own write: ${delayed}; re-serialised or copied: ${copied}`);
console.log(`CPU per event: hold-back ${med(on).toFixed(0)} ns, audit (scan only) ${med(off).toFixed(0)} ns, ratio ${(med(on) / med(off)).toFixed(2)}x`);
console.log(`bytes per stream (max inspector.bytes()): one choice, keys per character ${held([`a ${AWS} b ${GH} c ${OPENAI} d`])} B; two interleaved choices ${held([`x ${AWS} y`, `z ${OPENAI} w`])} B; text with no candidate ${held(['The keeper held the light through the storm.'])} B`);
console.log(`load average: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
