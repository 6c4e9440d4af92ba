// Text written backwards or in a shift cipher (Caesar, ROT13) so that no pattern reads it, a
// mismatched-generalization attack (Wei et al. 2023; Yuan et al. 2023 "CipherChat"): the model
// decodes it, a filter does not. In English a third of all words are a few hundred function words;
// ciphered or reversed English still has them, only reversed ("eht", "ot", "woh") or shifted
// ("uif", "up", "ipx"). One pass packs each short word into a number (5 bits a letter) forwards,
// backwards and under each shift, and looks the codes up in one table: no string is built.

const COMMON = ('the of and to in is you that it he was for on are as with his they at be this have from or one had by '
  + 'word but not what all were we when your can said there use an each which she do how their if will up other about out '
  + 'many then them these so some her would make like him into time has look two more write go see number no way could '
  + 'people my than first water been call who its now find long down day did get come made may part give tell me step '
  + 'guide kill make bomb steal drug hack where why does should must our us too very just any only also over such here').split(' ');

const MAXLEN = 6;
const code = (w: string): number => {
  let c = 0;
  for (let i = 0; i < w.length; i++) c = c * 32 + w.charCodeAt(i) - 96;
  return c;
};
const FORWARD = new Set<number>();
for (const w of COMMON) if (w.length <= MAXLEN) FORWARD.add(code(w));

/** Shifts tried: a word whose letters, each moved back by `s`, is a common word. */
const SHIFTS = [1, 2, 3, 13, 25];

export interface CipherStats {
  /** distinct words that are common words read backwards, and not common read forwards (up to 8) */
  reversed: number;
  /** distinct words that are common words under one shift, and not common as they stand (up to 8) */
  shifted: number;
  /** common words as they stand */
  common: number;
}

/** scratch of one call (it runs to completion): per shift, the distinct codes seen, up to SEEN_MAX */
const SEEN_MAX = 8;
const SEEN = new Float64Array(SHIFTS.length * SEEN_MAX);
const SEEN_N = new Uint8Array(SHIFTS.length);
const SEEN_REV = new Float64Array(SEEN_MAX);

/** Adds `v` to the set at `at` holding `n` codes unless there or full; returns the new count. */
function addSeen(set: Float64Array, at: number, n: number, v: number): number {
  if (n >= SEEN_MAX) return n;
  for (let k = 0; k < n; k++) if (set[at + k] === v) return n;
  set[at + n] = v;
  return n + 1;
}

const isAlpha = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** Counts over the first `limit` characters. */
export function cipherStats(s: string, limit = 4096): CipherStats {
  const out: CipherStats = { reversed: 0, shifted: 0, common: 0 };
  const n = Math.min(s.length, limit);
  // distinct words only: a command name repeated in its manual ("gdb" is "day" under ROT3) is one
  SEEN_N.fill(0);
  let revN = 0;
  let i = 0;
  while (i < n) {
    while (i < n && !isAlpha(s.charCodeAt(i))) i++;
    const start = i;
    let len = 0, fwd = 0, rev = 0, mul = 1;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (!isAlpha(c)) break;
      len++;
      if (len > MAXLEN) continue;
      const l = (c | 32) - 96;
      fwd = fwd * 32 + l;
      rev = rev + l * mul;
      mul *= 32;
    }
    if (len === 0 || len > MAXLEN) continue;
    if (FORWARD.has(fwd)) { out.common++; continue; }
    if (len >= 2 && FORWARD.has(rev)) revN = addSeen(SEEN_REV, 0, revN, rev);
    // shifted counts only while they could still outnumber the plain common words (both capped)
    if (out.common >= SEEN_MAX) continue;
    for (let k = 0; k < SHIFTS.length; k++) {
      // each letter moved back by the shift: the plain word's letter
      let code = 0;
      for (let p = start; p < i; p++) code = code * 32 + ((((s.charCodeAt(p) | 32) - 97) + 26 - SHIFTS[k]) % 26) + 1;
      if (FORWARD.has(code)) SEEN_N[k] = addSeen(SEEN, k * SEEN_MAX, SEEN_N[k], code);
    }
  }
  out.reversed = revN;
  // one key shifts every word alike: the best single shift counts
  for (let k = 0; k < SHIFTS.length; k++) if (SEEN_N[k] > out.shifted) out.shifted = SEEN_N[k];
  return out;
}

/** Weight of the ciphertext signal (0 when none). */
export function cipherWeight(t: CipherStats): number {
  // a text in a cipher has fewer plain common words than deciphered ones; quoted reversed words
  // sit inside plain text, and by chance no document has three
  if (t.reversed >= 3 || (t.shifted >= 3 && t.shifted > t.common)) return 3;
  return 0;
}
