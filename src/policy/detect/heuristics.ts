// Signals no pattern can describe, from character statistics in one pass. Optimised adversarial
// suffixes (GCG, Zou et al. 2023, and the adaptive attacks of Andriushchenko et al. 2024) are
// strings a language model finds very unlikely; NeMo Guardrails flags them with a GPT-2
// perplexity score. Without a model, the same strings show as tokens that switch case, digits and
// symbols many times, as runs of lone punctuation marks, and as words that mix scripts. Code and
// paths switch between letters and symbols too, but rarely between cases inside a word.

/** What the text looks like to the heuristics; weights are added by the detector. */
export interface TextStats {
  /** tokens that read as random: several case switches and symbols inside one word */
  randomTokens: number;
  /** lone punctuation tokens ("!") */
  lonePunct: number;
  /** words mixing Latin letters with letters of another script */
  mixedScript: number;
  /** long tokens in both cases, a quarter symbols and digits, three of them symbols code rarely uses inside a word */
  noisyTokens: number;
}

const isLower = (c: number) => c >= 97 && c <= 122;
const isUpper = (c: number) => c >= 65 && c <= 90;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || c === 10 || c === 9 || c === 13;

/** Scans at most the last `window` characters (suffixes sit at the end; the cost stays bounded). */
export function textStats(s: string, window = 600): TextStats {
  const out: TextStats = { randomTokens: 0, lonePunct: 0, mixedScript: 0, noisyTokens: 0 };
  let i = Math.max(0, s.length - window);
  const n = s.length;
  while (i < n) {
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    const start = i;
    let lower = 0, upper = 0, digit = 0, sym = 0, other = 0, switches = 0, prevKind = 0, humps = 0, slashes = 0, url = false, prev = 0, rare = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) break;
      const kind = isLower(c) ? 1 : isUpper(c) ? 2 : isDigit(c) ? 3 : c < 128 ? 4 : 5;
      if (kind === 1) lower++; else if (kind === 2) upper++; else if (kind === 3) digit++; else if (kind === 4) sym++; else other++;
      // lower→upper inside a word, or letter↔symbol/digit: what random strings do all the time
      if (prevKind !== 0 && kind !== prevKind && !(prevKind === 2 && kind === 1)) switches++;
      if (prevKind === 1 && kind === 2) humps++;
      if (c === 47 || c === 58) slashes++;
      if (c === 47 && prev === 58) url = true;
      // symbols that code and command syntax rarely put inside one word
      if (c === 126 || c === 94 || c === 38 || c === 42 || c === 43 || c === 60 || c === 62 || c === 92 || c === 96 || c === 39 || c === 59 || c === 37 || c === 64 || c === 33 || c === 40 || c === 41 || c === 36 || c === 35) rare++;
      prev = c;
      prevKind = kind;
    }
    const len = i - start;
    if (len === 0) continue;
    if (len === 1 && sym === 1) {
      // list bullets, quotes and shell prompts at a line's start are layout, not noise
      const c = s.charCodeAt(start);
      const lineStart = start === 0 || s.charCodeAt(start - 1) === 10 || (start >= 2 && s.charCodeAt(start - 2) === 10);
      if (!lineStart && (c === 33 || c === 63 || c === 46 || c === 44 || c === 59 || c === 94 || c === 126 || c === 64)) out.lonePunct++;
      continue;
    }
    const letters = lower + upper;
    if (other > 0 && letters >= 2 && other < len) {
      // a word of Latin letters with another script inside it (emoji and punctuation excepted)
      for (let k = start; k < i; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x370 && c < 0x2000) { out.mixedScript++; break; }
        if (c >= 0x2e80 && c < 0xa000) { out.mixedScript++; break; }
      }
    }
    // URLs, paths and option lists (a/b, k:v) are code, not noise
    if (len >= 10 && upper >= 2 && lower >= 2 && rare >= 3 && (sym + digit) * 4 >= len && !url) out.noisyTokens++;
    if (len >= 8 && upper >= 2 && lower >= 2 && humps >= 1 && sym + digit >= 3 && switches >= 6 && slashes < 2) out.randomTokens++;
  }
  return out;
}

/** Weight of the adversarial-suffix signal for these statistics (0 when none). */
export function suffixWeight(t: TextStats): number {
  let w = 0;
  if (t.randomTokens >= 1) w += 4;
  if (t.randomTokens >= 2) w += 1;
  if (t.lonePunct >= 6) w += 3;
  if (t.lonePunct >= 12) w += 1;
  if (t.mixedScript >= 2) w += 2;
  if (t.noisyTokens >= 1) w += 3;
  return Math.min(w, 3);
}
