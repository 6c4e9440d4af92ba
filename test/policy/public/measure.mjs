// Reads ../shared/corpus-public/ (public attack and benign prompts, never copied into this repo)
// where it lies, splits it as its README says (sha256(text)[0] % 2 == 0: test half, else dev half)
// and measures a policy engine on it. Shared by test/policy/public.test.ts (floors on the test
// half) and bench/detect.mjs (the published table), so the published figures are the tested ones.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** `../shared/corpus-public` beside the project (a worktree one level deeper also finds it), or $CORDON_CORPUS_PUBLIC */
export const CORPUS_DIR = process.env.CORDON_CORPUS_PUBLIC
  ?? [join(ROOT, '..', 'shared', 'corpus-public'), join(ROOT, '..', '..', 'shared', 'corpus-public')].find((d) => existsSync(d))
  ?? join(ROOT, '..', 'shared', 'corpus-public');

/** The corpus README's split rule: sha256(text)[0] % 2 == 0 is the test half. */
export function halfOf(text) {
  return createHash('sha256').update(text, 'utf8').digest()[0] % 2 === 0 ? 'test' : 'dev';
}

/** @returns {null | {attacks: object[], benign: object[]}} rows with `half`: 'test' | 'dev' */
export function loadCorpus(dir = CORPUS_DIR) {
  if (!existsSync(join(dir, 'attacks.jsonl')) || !existsSync(join(dir, 'benign.jsonl'))) return null;
  const read = (f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
    const r = JSON.parse(l);
    r.half = halfOf(r.text);
    return r;
  });
  return { attacks: read('attacks.jsonl'), benign: read('benign.jsonl') };
}

/** Whether the engine refuses or flags the text sent as a user turn of a chat request. */
export function caught(engine, text, slot) {
  const json = { model: 'm', messages: [{ role: 'user', content: text }] };
  const hits = engine.inspectRequest(slot, Buffer.from(JSON.stringify(json)), json, '/v1/chat/completions', 0);
  return hits !== null && hits.length > 0;
}

function rate(rows, pred) {
  const n = rows.length;
  const k = rows.filter(pred).length;
  return { n, k, rate: n === 0 ? 0 : k / n };
}

/**
 * Recall per category, sub and source, false positives per sub, for one preset on one half.
 * `engineFor(preset)` builds an engine (each measure uses a fresh one).
 */
export function measure(engineFor, preset, corpus, half) {
  const e = engineFor(preset);
  let slot = 0;
  const hit = new Map();
  const A = corpus.attacks.filter((r) => r.half === half);
  const B = corpus.benign.filter((r) => r.half === half);
  for (const r of [...A, ...B]) hit.set(r, caught(e, r.text, slot++ % 4096));
  const by = (rows, key) => {
    const out = {};
    for (const r of rows) (out[key(r)] ??= []).push(r);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, rate(v, (x) => hit.get(x))]).sort());
  };
  return {
    preset, half,
    recall: rate(A, (r) => hit.get(r)),
    fp: rate(B, (r) => hit.get(r)),
    byCat: by(A, (r) => r.cat),
    bySrc: by(A, (r) => r.src.split(':')[0]),
    fpBySub: by(B, (r) => r.sub),
    fpBySrc: by(B, (r) => r.src.split(':')[0]),
    hit,
  };
}
