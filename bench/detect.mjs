// Detection on public data the project did not write: ../shared/corpus-public/ (see its README),
// read where it lies and never copied here. Recall per preset, per category and per source, and
// false positives per benign `sub`, on the TEST half (the dev half, the only one the rules were
// tuned on, for reference). Rules, heuristics and the linear classifier: no judge. Writes the top table of
// BENCHMARKS.md's "Detection on public data" section and the README comparison row.
//   npm run bench:detect            (builds first)
//   node bench/detect.mjs --no-write
import { readFileSync, writeFileSync } from 'node:fs';
import { createPolicyEngine } from '../dist/policy/index.js';
import { PROFILE_BOUNDS } from '../dist/config/profiles.js';
import { CORPUS_DIR, loadCorpus, measure } from '../test/policy/public/measure.mjs';

const corpus = loadCorpus();
if (!corpus) {
  console.log(`bench:detect skipped: no corpus at ${CORPUS_DIR} (attacks.jsonl, benign.jsonl)`);
  process.exit(0);
}
const write = !process.argv.includes('--no-write');
const engineFor = (preset) => createPolicyEngine({ preset, rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
const PRESETS = ['minimal', 'standard', 'strict'];
const pct = (r) => `${(100 * r.rate).toFixed(1)}% (${r.k}/${r.n})`;

const t0 = process.hrtime.bigint();
const results = {};
for (const half of ['test', 'dev']) for (const p of PRESETS) results[`${p}/${half}`] = measure(engineFor, p, corpus, half);
const rows = corpus.attacks.length + corpus.benign.length;
const usPerRow = Number(process.hrtime.bigint() - t0) / 1000 / (rows * PRESETS.length);

const lines = [];
lines.push('| preset | recall (test) | false positives (test) | recall (dev) | false positives (dev) |');
lines.push('|---|---|---|---|---|');
for (const p of PRESETS) {
  const t = results[`${p}/test`], d = results[`${p}/dev`];
  lines.push(`| \`${p}\` | ${pct(t.recall)} | ${pct(t.fp)} | ${pct(d.recall)} | ${pct(d.fp)} |`);
}
lines.push('');
const cats = Object.keys(results['standard/test'].byCat);
lines.push(`| test half, recall by category | ${PRESETS.map((p) => `\`${p}\``).join(' | ')} |`);
lines.push(`|---|${PRESETS.map(() => '---').join('|')}|`);
for (const c of cats) lines.push(`| ${c} | ${PRESETS.map((p) => pct(results[`${p}/test`].byCat[c])).join(' | ')} |`);
lines.push('');
lines.push(`| dev half (tuned on), recall by category | ${PRESETS.map((p) => `\`${p}\``).join(' | ')} |`);
lines.push(`|---|${PRESETS.map(() => '---').join('|')}|`);
for (const c of cats) lines.push(`| ${c} | ${PRESETS.map((p) => pct(results[`${p}/dev`].byCat[c])).join(' | ')} |`);
lines.push('');
const srcs = Object.keys(results['standard/test'].bySrc);
lines.push(`| test half, recall by source | ${PRESETS.map((p) => `\`${p}\``).join(' | ')} |`);
lines.push(`|---|${PRESETS.map(() => '---').join('|')}|`);
for (const s of srcs) lines.push(`| ${s} | ${PRESETS.map((p) => pct(results[`${p}/test`].bySrc[s])).join(' | ')} |`);
lines.push('');
const subs = Object.keys(results['standard/test'].fpBySub);
lines.push(`| test half, false positives by benign sub | ${PRESETS.map((p) => `\`${p}\``).join(' | ')} |`);
lines.push(`|---|${PRESETS.map(() => '---').join('|')}|`);
for (const s of subs) lines.push(`| ${s} | ${PRESETS.map((p) => pct(results[`${p}/test`].fpBySub[s])).join(' | ')} |`);
const table = lines.join('\n');
console.log(table);
console.log(`\n${usPerRow.toFixed(1)} µs per row per preset (engine inspectRequest with JSON body)`);

if (write) {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const section = `## Detection on public data (\`npm run bench:detect\`)\n\n`
    + `Rules, heuristics and the linear classifier (no judge), each row sent as a user turn. Corpus: \`../shared/corpus-public/\` `
    + `(${corpus.attacks.length} attacks, ${corpus.benign.length} benign, split by sha256(text)[0] % 2; tuned on the dev half only). `
    + `Run ${new Date().toISOString().slice(0, 10)}, load ${load}.\n\n${table}\n\n`;
  const bm = readFileSync('BENCHMARKS.md', 'utf8');
  const start = bm.indexOf('## Detection on public data');
  let out;
  if (start >= 0) {
    const end = bm.indexOf('\n## ', start + 5);
    out = bm.slice(0, start) + section + (end >= 0 ? bm.slice(end + 1) : '');
  } else {
    const first = bm.indexOf('\n## ');
    out = first >= 0 ? `${bm.slice(0, first + 1)}${section}\n${bm.slice(first + 1)}` : `${bm}\n${section}`;
  }
  writeFileSync('BENCHMARKS.md', out);
  const s = results['standard/test'], x = results['strict/test'];
  const readme = readFileSync('README.md', 'utf8');
  const row = `| detection on public attacks it was not written for (test half, rules + linear classifier, no judge) | **\`standard\` ${(100 * s.recall.rate).toFixed(0)}%** recall at ${(100 * s.fp.rate).toFixed(1)}% false positives; **\`strict\` ${(100 * x.recall.rate).toFixed(0)}%** at ${(100 * x.fp.rate).toFixed(1)}% | the earlier one-regex-per-phrase presets: about 12% (issue #14) | \`npm run bench:detect\` |`;
  const re = /^\| detection on public attacks it was not written for.*$/m;
  if (re.test(readme)) writeFileSync('README.md', readme.replace(re, row));
  else console.log(`README has no detection row yet; add:\n${row}`);
}
