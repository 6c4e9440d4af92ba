// The normalized view that language rules read (SPEC "What the policy sees"): look-alike and
// compatibility characters folded, invisible and bidi characters dropped, `\u`/`\x`/`%XX`/`&#N;`
// escapes decoded in place, digit-for-letter spellings (s3cr3t) and spaced-out letters (i g n o r e)
// folded, and base64 or hex runs that decode to text appended once (one level, bounded). Linear in
// the text. Plain ASCII prose, the common case, needs none of it: one scan proves it and the raw
// string is returned as it is. Each normalized character maps back to the raw offset it came from,
// so excerpts show the original text.
import { foldCodePoint } from './fold.js';

export const NORM_FOLDED = 1;
export const NORM_INVISIBLE = 2;
export const NORM_LEET = 4;
export const NORM_SPACED = 8;
export const NORM_DECODED = 16;
export const NORM_ESCAPES = 32;

export interface NormalizedText {
  text: string;
  /** normalized offset → raw offset; null when text is the raw string itself */
  map: Int32Array | null;
  /** NORM_* bits: what was folded */
  flags: number;
}

/** A base64 or hex run shorter than this is left alone (ids, hashes of words, short tokens). */
const MIN_ENCODED = 20;
/** At most this many characters of one run, and of one text, are decoded. */
const MAX_RUN = 4096;
const MAX_DECODED = 16_384;

const isLower = (c: number) => c >= 97 && c <= 122;
const isUpper = (c: number) => c >= 65 && c <= 90;
const isLetter = (c: number) => isLower(c) || isUpper(c);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlnum = (c: number) => isLetter(c) || isDigit(c);
const isHex = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const isB64 = (c: number) => isAlnum(c) || c === 43 || c === 47 || c === 61 || c === 45 || c === 95;
/** separators between spaced-out letters: space . - _ * / | + , */
const isSep = (c: number) => c === 32 || c === 46 || c === 45 || c === 95 || c === 42 || c === 47 || c === 124 || c === 43 || c === 44;
/** digits (and $) read as the letters they resemble inside a word */
const LEET: Record<number, number> = { 48: 111, 49: 105, 51: 101, 52: 97, 53: 115, 55: 116, 56: 98, 57: 103, 36: 115, 64: 97 };

/** Character classes of ASCII for the fast check: one table read a character. */
const C_B64 = 1, C_LETTER = 2, C_DIGIT = 4, C_SEP = 8, C_ESC = 16;
const C_ALNUM = C_LETTER | C_DIGIT;
const CLS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  CLS[c] = (isB64(c) ? C_B64 : 0) | (isLetter(c) ? C_LETTER : 0) | (isDigit(c) ? C_DIGIT : 0) | (isSep(c) ? C_SEP : 0)
    | (c === 92 || c === 37 || c === 38 || c === 36 ? C_ESC : 0);
}

/**
 * Whether the text needs the slow path: anything non-ASCII, an escape, a digit inside a word, four
 * or more spaced-out single letters, or a long base64/hex-looking run. One table read and a few
 * branches a character: this runs over every text the policy reads.
 */
function needsWork(s: string): boolean {
  let run = 0;
  let runOdd = false;
  let singles = 0;
  let lastSingle = -9;
  let prevK = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return true;
    const k = CLS[c];
    if ((k & C_B64) !== 0) {
      run++;
      if ((k & C_LETTER) === 0) runOdd = true;
      if (run >= MIN_ENCODED && runOdd) return true;
    } else {
      run = 0;
      runOdd = false;
    }
    if ((k & C_ALNUM) !== 0) {
      if ((k & C_DIGIT) !== 0 && (prevK & C_LETTER) !== 0) {
        let j = i + 1;
        while (j < n && (isDigit(s.charCodeAt(j)) || s.charCodeAt(j) === 36)) j++;
        if (j < n && isLetter(s.charCodeAt(j))) return true;
      }
      if ((prevK & C_ALNUM) === 0) {
        const next = i + 1 < n ? s.charCodeAt(i + 1) : 32;
        if (next >= 0x80 || (CLS[next] & C_ALNUM) === 0) {
          singles = i - lastSingle === 2 && (prevK & C_SEP) !== 0 ? singles + 1 : 1;
          lastSingle = i;
          if (singles >= 4) return true;
        }
      }
    } else if ((k & C_ESC) !== 0 && i + 1 < n) {
      // \u \x, %XX, &#, and $ between letters (pa$$word)
      const d = s.charCodeAt(i + 1);
      if (c === 36) {
        if ((prevK & C_LETTER) !== 0 && isLetter(d)) return true;
      } else if ((c === 92 && (d === 117 || d === 120)) || (c === 37 && isHex(d) && i + 2 < n && isHex(s.charCodeAt(i + 2))) || (c === 38 && d === 35)) return true;
    }
    prevK = k;
  }
  return false;
}

const UTF16 = new TextDecoder('utf-16le');

/** Growable scratch buffers shared by calls (normalize runs to completion, single-threaded). */
let A = new Uint16Array(1024);
let AM = new Int32Array(1024);
let B = new Uint16Array(1024);
let BM = new Int32Array(1024);

function ensure(n: number): void {
  if (A.length >= n) return;
  let m = A.length;
  while (m < n) m *= 2;
  A = new Uint16Array(m); AM = new Int32Array(m); B = new Uint16Array(m); BM = new Int32Array(m);
}

const hexVal = (c: number) => (isDigit(c) ? c - 48 : (c | 32) - 87);

function parseHex(s: string, from: number, len: number): number {
  let v = 0;
  for (let k = 0; k < len; k++) {
    const c = s.charCodeAt(from + k);
    if (!isHex(c)) return -1;
    v = v * 16 + hexVal(c);
  }
  return v;
}

export function normalize(raw: string): NormalizedText {
  if (!needsWork(raw)) return { text: raw, map: null, flags: 0 };
  // Folding can grow a character (a ligature into three letters); 3x bounds it, decoded text is
  // appended at most MAX_DECODED more.
  ensure(raw.length * 3 + MAX_DECODED + 16);
  let flags = 0;
  // ---- pass 1: characters folded, escapes decoded -----------------------------------------------
  let n = 0;
  const emit = (c: number, at: number) => { A[n] = c; AM[n++] = at; };
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    const at = i;
    if (c < 0x80) {
      if (c === 92 && i + 1 < raw.length) {
        const d = raw.charCodeAt(i + 1);
        const v = d === 117 ? parseHex(raw, i + 2, 4) : d === 120 ? parseHex(raw, i + 2, 2) : -1;
        if (v >= 0) {
          i += d === 117 ? 5 : 3;
          flags |= NORM_ESCAPES;
          c = v;
          if (c >= 0x80) { foldInto(c, at); continue; }
        }
      } else if (c === 37 && i + 2 < raw.length) {
        const v = parseHex(raw, i + 1, 2);
        if (v >= 0x20 && v < 0x80) { i += 2; c = v; flags |= NORM_ESCAPES; }
      } else if (c === 38 && i + 3 < raw.length && raw.charCodeAt(i + 1) === 35) {
        const semi = raw.indexOf(';', i + 2);
        if (semi > i + 2 && semi - i <= 10) {
          const x = raw.charCodeAt(i + 2) === 120 || raw.charCodeAt(i + 2) === 88;
          const body = raw.slice(i + (x ? 3 : 2), semi);
          const v = x ? parseHex(body, 0, body.length) : /^\d+$/.test(body) ? Number(body) : -1;
          if (v > 0 && v <= 0x10ffff) {
            i = semi;
            flags |= NORM_ESCAPES;
            if (v >= 0x80) { foldInto(v, at); continue; }
            c = v;
          }
        }
      }
      A[n] = c; AM[n++] = at;
      continue;
    }
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < raw.length) {
      const lo = raw.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) { cp = ((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000; i++; }
    }
    foldInto(cp, at);
  }
  function foldInto(cp: number, at: number): void {
    const f = foldCodePoint(cp);
    if (f.length === 0) {
      // joiners and variation selectors belong to emoji; the others hide text
      if (cp !== 0x200d && cp !== 0xfe0f && cp !== 0xfe0e && !(cp === 0xfeff && at === 0)) flags |= NORM_INVISIBLE;
      return;
    }
    if (f.length !== 1 || f.charCodeAt(0) !== cp) flags |= NORM_FOLDED;
    for (let k = 0; k < f.length; k++) emit(f.charCodeAt(k), at);
  }

  // ---- pass 2: words (digit-for-letter, spaced letters), encoded runs ----------------------------
  let m = 0;
  let decodedTotal = 0;
  const decoded: Array<{ text: string; at: number }> = [];
  const put = (c: number, at: number) => { B[m] = c; BM[m++] = at; };
  const wordy = (c: number) => isAlnum(c) || c === 36;
  let i = 0;
  while (i < n) {
    const c = A[i];
    // an encoded run starts here: try it once, then read it as words like any other text
    if (isB64(c) && (i === 0 || !isB64(A[i - 1]))) {
      let j = i;
      while (j < n && isB64(A[j])) j++;
      if (j - i >= MIN_ENCODED && decodedTotal < MAX_DECODED) {
        const t = decodeRun(A, i, Math.min(j, i + MAX_RUN));
        if (t !== null) {
          decoded.push({ text: t, at: AM[i] });
          decodedTotal += t.length;
          flags |= NORM_DECODED;
        }
      }
    }
    if (!wordy(c)) { B[m] = c; BM[m++] = AM[i]; i++; continue; }
    let j = i;
    while (j < n && wordy(A[j])) j++;
    // a single character: maybe the first of spaced-out letters
    if (j - i === 1 && isAlnum(c)) {
      let k = j;
      let count = 1;
      while (k + 1 < n && isSep(A[k]) && isAlnum(A[k + 1]) && !(k + 2 < n && wordy(A[k + 2]))) { count++; k += 2; }
      if (count >= 4) {
        const start = m;
        for (let p = i; p < k; p += 2) put(A[p], AM[p]);
        leetFold(start, m);
        flags |= NORM_SPACED;
        i = k;
        continue;
      }
    }
    const start = m;
    for (let p = i; p < j; p++) { B[m] = A[p]; BM[m++] = AM[p]; }
    // a word with no digit or $ has nothing to fold
    let odd = false;
    for (let p = start; p < m && !odd; p++) odd = !isLetter(B[p]);
    if (odd && leetFold(start, m)) flags |= NORM_LEET;
    i = j;
  }
  for (const d of decoded) {
    put(10, d.at);
    for (let k = 0; k < d.text.length; k++) put(d.text.charCodeAt(k), d.at);
  }
  return { text: UTF16.decode(B.subarray(0, m)), map: BM.slice(0, m), flags };

  /** Reads digits and $ inside a word as letters when a digit sits between letters. */
  function leetFold(from: number, to: number): boolean {
    // a run of digits with letters on both sides (pr3v10us), not a version or unit (gpt4, 3rd)
    let interior = false;
    for (let p = from + 1; p < to - 1 && !interior; p++) {
      if (isLetter(B[p]) || !isLetter(B[p - 1])) continue;
      let q = p;
      while (q < to && !isLetter(B[q])) q++;
      if (q < to) interior = true;
      p = q;
    }
    if (!interior) return false;
    let letters = 0;
    for (let p = from; p < to; p++) if (isLetter(B[p])) letters++;
    if (letters * 2 < to - from) return false;
    for (let p = from; p < to; p++) {
      const v = LEET[B[p]];
      if (v !== undefined) B[p] = v;
    }
    return true;
  }
}

/** base64 (either alphabet) or hex that decodes to readable text; else null. */
function decodeRun(buf: Uint16Array, from: number, to: number): string | null {
  let s = '';
  let hex = true;
  for (let k = from; k < to; k++) {
    const c = buf[k];
    s += String.fromCharCode(c);
    if (!isHex(c)) hex = false;
  }
  const bytes = hex && s.length % 2 === 0 ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
  if (bytes.length < 8) return null;
  let printable = 0;
  let letters = 0;
  for (const b of bytes) {
    if ((b >= 0x20 && b < 0x7f) || b === 10 || b === 13 || b === 9) printable++;
    if (isLetter(b) || b === 32) letters++;
  }
  if (printable < bytes.length * 0.95 || letters < bytes.length * 0.6) return null;
  return bytes.toString('latin1');
}

/**
 * The normalized view over a stream: text is normalized up to the last word boundary and the rest
 * (at most `carryMax` characters) waits for the next piece, so a word, an escape or spaced-out
 * letters split across pieces fold as if whole. Offsets in `map` are absolute in the stream.
 */
export class StreamNormalizer {
  private carry = '';
  private base = 0;

  constructor(private readonly carryMax = 512) {}

  push(piece: string): NormalizedText {
    const s = this.carry + piece;
    let cut = s.length;
    // cut after whitespace that follows a word of two or more letters (not mid spaced-out run)
    let k = s.length - 1;
    const floor = Math.max(0, s.length - this.carryMax);
    for (; k > floor + 1; k--) {
      const c = s.charCodeAt(k);
      if ((c === 32 || c === 10) && isAlnum(s.charCodeAt(k - 1)) && isAlnum(s.charCodeAt(k - 2))) break;
    }
    cut = k > floor + 1 ? k + 1 : floor;
    this.carry = s.slice(cut);
    return this.out(s.slice(0, cut));
  }

  end(): NormalizedText {
    const s = this.carry;
    this.carry = '';
    return this.out(s);
  }

  bytes(): number {
    return 32 + this.carry.length * 2;
  }

  private out(s: string): NormalizedText {
    const r = normalize(s);
    const base = this.base;
    this.base += s.length;
    if (r.map === null) {
      if (base === 0) return r;
      const map = new Int32Array(s.length);
      for (let i = 0; i < map.length; i++) map[i] = base + i;
      return { text: r.text, map, flags: r.flags };
    }
    if (base !== 0) for (let i = 0; i < r.map.length; i++) r.map[i] += base;
    return r;
  }
}
