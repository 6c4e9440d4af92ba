// Matcher throughput at 10, 100 and 1,000 generated rules against a per-rule V8 RegExp loop over
// the same rules and text in the same run; bytes per stream context; recall and false positives
// of each preset over the test corpus. Results go to bench/results/scan.md.
//   npm run build && node --expose-gc bench/scan.mjs
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { compilePolicy } from '../dist/policy/compile.js';
import { ScanContext } from '../dist/policy/scanner.js';
import { normalize } from '../dist/policy/detect/normalize.js';
import { createPolicyEngine } from '../dist/policy/engine.js';
import { PROFILE_BOUNDS } from '../dist/config/profiles.js';

const started = Date.now();
let seed = 12345;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = (a) => a[Math.floor(rnd() * a.length)];

// ---- a vocabulary and prose with a Zipf-like word distribution ---------------------------------
const SYL = ['ka', 'to', 'ri', 'men', 'sal', 'vor', 'en', 'di', 'lu', 'pre', 'ins', 'tion', 'ver', 'ma', 'co', 'nu', 'al', 'ex', 'ter', 'ob', 'stra', 'qui', 'fe', 'ly'];
const vocab = new Set(['the', 'a', 'of', 'and', 'to', 'in', 'is', 'you', 'that', 'it', 'for', 'with', 'as', 'on', 'this', 'be', 'are', 'can', 'your', 'we']);
while (vocab.size < 3000) {
  let w = '';
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) w += pick(SYL);
  vocab.add(w);
}
const words = [...vocab];
function zipfWord() {
  // rank ~ 1/u distribution, capped
  const r = Math.min(words.length - 1, Math.floor(1 / (rnd() + 0.0004)) - 1);
  return words[Math.max(0, r)];
}
function prose(bytes) {
  const parts = [];
  let n = 0;
  while (n < bytes) {
    let sentence = '';
    const len = 6 + Math.floor(rnd() * 14);
    for (let i = 0; i < len; i++) sentence += (i ? ' ' : '') + zipfWord();
    sentence = sentence[0].toUpperCase() + sentence.slice(1) + (rnd() < 0.1 ? ':\n' : '. ');
    parts.push(sentence);
    n += sentence.length;
  }
  return parts.join('');
}

// ---- generated rules, realistic shapes, words from the rarer part of the vocabulary -----------
const rare = () => words[200 + Math.floor(rnd() * (words.length - 200))];
const esc = (s) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
function genRules(n) {
  const rules = [];
  for (let i = 0; i < n; i++) {
    const shape = i % 10;
    let patterns;
    if (shape < 4) patterns = [`(?i)\\b(?:${rare()}|${rare()})\\s+(?:the\\s+|all\\s+)?${rare()}\\s+${rare()}\\b`];
    else if (shape < 6) {
      let pfx = '';
      for (let k = 0; k < 4; k++) pfx += String.fromCharCode(65 + Math.floor(rnd() * 26));
      patterns = [`\\b${pfx}_[A-Za-z0-9]{24,}`];
    } else if (shape < 8) patterns = [`(?i)\\b${rare()}\\s+${rare()}\\b.{0,40}\\b${rare()}`];
    else if (shape < 9) patterns = [`${esc(rare())} ${esc(rare())} ${esc(rare())}`];
    else patterns = [`(?i)\\b${rare()}(?:ing|ed|s)?\\s+(?:${rare()}|${rare()}|${rare()})\\b`];
    rules.push({ name: `gen-${i}`, target: 'both', severity: 'medium', action: 'flag', patterns });
  }
  return rules;
}

function toRegExp(src) {
  const m = /^\(\?([a-z]+)\)/.exec(src);
  return m ? new RegExp(src.slice(m[0].length), m[1].includes('i') ? 'i' : '') : new RegExp(src);
}

const TEXT = prose(4 * 1024 * 1024);
const PIECE = 16 * 1024;
const pieces = [];
for (let i = 0; i < TEXT.length; i += PIECE) pieces.push(TEXT.slice(i, i + PIECE));
const MB = TEXT.length / (1024 * 1024);

// Compile all three sizes first, then measure them interleaved, round after round, keeping each
// one's fastest run: a burst of load from other processes then hits all sizes alike.
const sets = [10, 100, 1000].map((n) => {
  const rules = genRules(n);
  const tc = performance.now();
  const policy = compilePolicy({ preset: [], rules, tailBytes: 512 });
  const compileMs = performance.now() - tc;
  const regexps = rules.map((r) => toRegExp(r.patterns[0]));
  // the loop gets a slice of the text sized so one run stays short at 1,000 rules
  const loopPieces = pieces.slice(0, Math.max(1, Math.floor(pieces.length * Math.min(1, 20 / n))));
  const loopMB = loopPieces.reduce((a, p) => a + p.length, 0) / (1024 * 1024);
  return { n, policy, compileMs, regexps, loopPieces, loopMB, bestMatcher: Infinity, bestNorm: Infinity, bestLoop: Infinity, hits: 0 };
});
// Phase 1: the matcher at each size, interleaved; phase 2: the RegExp loops, interleaved.
// (Interleaving the loop with the matcher measurably slows the matcher that follows it: V8's
// regexp runs churn the caches and the heap, so the phases are kept apart.)
let until = performance.now() + 20_000;
while (performance.now() < until) {
  for (const s of sets) {
    const t = performance.now();
    const ctx = new ScanContext(s.policy, 15, 'response', 200);
    let hits = 0;
    for (const p of pieces) hits += ctx.write(p)?.length ?? 0;
    hits += ctx.end()?.length ?? 0;
    s.hits = hits;
    s.bestMatcher = Math.min(s.bestMatcher, performance.now() - t);
    // the same with the normalized view language rules read (SPEC): normalize, then match it
    const tn = performance.now();
    const nctx = new ScanContext(s.policy, 15, 'response', 200);
    for (const p of pieces) nctx.write(normalize(p).text);
    nctx.end();
    s.bestNorm = Math.min(s.bestNorm, performance.now() - tn);
  }
}
until = performance.now() + 20_000;
while (performance.now() < until) {
  for (const s of sets) {
    const t = performance.now();
    let loopHits = 0;
    for (const p of s.loopPieces) for (const re of s.regexps) if (re.test(p)) loopHits++;
    s.bestLoop = Math.min(s.bestLoop, performance.now() - t);
  }
}
const rows = sets.map((s) => ({
  n: s.n, compileMs: s.compileMs, atoms: s.policy.ac ? s.policy.ac.states : 0, tableKB: (s.policy.ac ? s.policy.ac.bytes() : 0) / 1024,
  setPatterns: s.policy.setPat.length, matcher: MB / (s.bestMatcher / 1000), norm: MB / (s.bestNorm / 1000), loop: s.loopMB / (s.bestLoop / 1000), hits: s.hits,
}));
for (const r of rows) console.log(`rules=${r.n} matcher=${r.matcher.toFixed(1)}MB/s normalized=${r.norm.toFixed(1)}MB/s loop=${r.loop.toFixed(1)}MB/s states=${r.atoms} compile=${r.compileMs.toFixed(0)}ms`);

// ---- bytes per stream context -----------------------------------------------------------------
const engine = createPolicyEngine({ preset: 'standard', rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
const event = Buffer.from(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: prose(800) } }] })}\n\n`);
const COUNT = 20_000;
global.gc?.();
const h0 = process.memoryUsage().heapUsed;
const held = [];
for (let i = 0; i < COUNT; i++) {
  const insp = engine.openResponse(i, 'text/event-stream', '/v1/chat/completions');
  insp.write(event);
  held.push(insp);
}
global.gc?.();
const h1 = process.memoryUsage().heapUsed;
const perStreamHeap = (h1 - h0) / COUNT;
const perStreamSelf = held.reduce((a, x) => a + x.bytes(), 0) / COUNT;
for (const x of held) x.end();
held.length = 0;

// ---- corpus recall / false positives per preset -----------------------------------------------
const ATTACKS = JSON.parse(readFileSync(new URL('../test/policy/corpus/attacks.json', import.meta.url), 'utf8'));
const BENIGN = JSON.parse(readFileSync(new URL('../test/policy/corpus/benign.json', import.meta.url), 'utf8'));
const { flagged } = await import('../test/policy/corpus/flagged.mjs');
const corpus = [];
for (const preset of ['off', 'minimal', 'standard', 'strict']) {
  const e = createPolicyEngine({ preset, rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
  const caught = ATTACKS.filter((a, i) => flagged(e, a, i)).length;
  const fp = BENIGN.filter((b, i) => flagged(e, b, 10_000 + i)).length;
  corpus.push({ preset, rules: e.rules().length, recall: caught / ATTACKS.length, caught, fp: fp / BENIGN.length, fpN: fp });
}

// ---- report -------------------------------------------------------------------------------------
const r10 = rows[0].matcher;
const r1000 = rows[2];
const lines = [];
lines.push('# Policy matcher benchmark (`bench/scan.mjs`)', '');
lines.push(`Date: ${new Date().toISOString()}  `);
lines.push(`Command: \`npm run build && node --expose-gc bench/scan.mjs\`  `);
lines.push(`Node ${process.version}, ${process.arch}; a shared, noisy 2-core machine (load average ${(await import('node:os')).loadavg()[0].toFixed(1)} at the end): the sizes are measured interleaved (matcher phase 20s, then loop phase 20s) and each figure is its fastest run, single-threaded.  `);
lines.push(`Text: ${MB.toFixed(1)} MiB of generated prose (Zipf-distributed words), fed in ${PIECE / 1024} KiB pieces to one stream context.`);
lines.push('The loop baseline runs every rule\'s V8 RegExp `.test()` over each piece, as a per-rule gateway does.', '');
lines.push('| rules | matcher MB/s | normalize + matcher MB/s | V8 RegExp loop MB/s | matcher / loop | automaton states | table KiB | RE2.Set patterns | compile ms |');
lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  lines.push(`| ${r.n} | ${r.matcher.toFixed(1)} | ${r.norm.toFixed(1)} | ${r.loop.toFixed(1)} | ${(r.matcher / r.loop).toFixed(1)}x | ${r.atoms} | ${r.tableKB.toFixed(0)} | ${r.setPatterns} | ${r.compileMs.toFixed(0)} |`);
}
lines.push('');
lines.push(`Targets: >= 100 MB/s at 1,000 rules: **${r1000.matcher.toFixed(0)} MB/s** (${r1000.matcher >= 100 ? 'met' : 'missed'}), **${r1000.norm.toFixed(0)} MB/s** with normalization (${r1000.norm >= 100 ? 'met' : 'missed'}); `
  + `within 2x of 10 rules: **${(r10 / r1000.matcher).toFixed(2)}x** slower (${r10 / r1000.matcher <= 2 ? 'met' : 'missed'}); `
  + `>= 10x the loop: **${(r1000.matcher / r1000.loop).toFixed(0)}x** (${r1000.matcher / r1000.loop >= 10 ? 'met' : 'missed'}).`, '');
lines.push('## Bytes per stream context', '');
lines.push(`${COUNT} open SSE response inspectors (preset standard, profile standard: scan_tail_bytes 512), each after one 800-character delta:`, '');
lines.push('| measure | bytes per stream |', '|---|---:|');
lines.push(`| heap growth / streams (${global.gc ? 'after gc' : 'no --expose-gc: noisy'}) | ${perStreamHeap.toFixed(0)} |`);
lines.push(`| inspector.bytes() self-accounting | ${perStreamSelf.toFixed(0)} |`, '');
lines.push('## Corpus (test/policy/corpus): recall and false positives per preset', '');
lines.push(`${ATTACKS.length} attack samples (injection, extraction, jailbreak, exfiltration, dangerous tool calls, secrets, PII) and ${BENIGN.length} benign samples sharing their vocabulary. Response samples are streamed as 7-character SSE deltas.`, '');
lines.push('| preset | rules | recall (all attacks) | false positives |', '|---|---:|---:|---:|');
for (const c of corpus) lines.push(`| ${c.preset} | ${c.rules} | ${(c.recall * 100).toFixed(0)}% (${c.caught}/${ATTACKS.length}) | ${(c.fp * 100).toFixed(1)}% (${c.fpN}/${BENIGN.length}) |`);
lines.push('', 'Recall counts every attack against every preset: minimal only aims at secrets and explicit instruction override, and the test (`test/policy/corpus.test.ts`) requires 100% recall of the attacks each preset is meant to catch, no false positives for minimal and standard, and at most 5% for strict.', '');
lines.push(`Run time: ${((Date.now() - started) / 1000).toFixed(0)}s.`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/scan.md', import.meta.url), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
