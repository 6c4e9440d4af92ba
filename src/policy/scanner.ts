// The per-stream scanner context: automaton state, a bounded tail of recent text, and a short
// list of atom hits still waiting for the text after them. Fed piece by piece, it finds a match
// split across chunks or deltas exactly as if the text had come in one piece, and it never holds
// more than the profile's scan_tail_bytes of text whatever the stream's length.
import type { Direction } from '../events.js';
import type { AtomSink } from './aho.js';
import type { CompiledPolicy, CompiledPattern } from './compile.js';
import { luhnValid } from './luhn.js';
import type { Hit } from './types.js';

/** at most this many atom hits wait for more text; later ones confirm with what is there */
const MAX_PENDING = 16;

export class ScanContext implements AtomSink {
  private state = 0;
  private tail = '';
  /** absolute offset (UTF-16 units since the stream began) of tail[0] */
  private base = 0;
  /** during write(): the new piece, tail + piece once built, and their length */
  private piece = '';
  private buf: string | null = null;
  private bufLen = 0;
  /** pending confirms as pairs (pattern id, absolute atom end) */
  private pending: number[] | null = null;
  /** rule indexes already reported by this context (reported once per stream) */
  private reported: number[] | null = null;
  private out: Hit[] | null = null;
  /** characters of text fed, for token estimates */
  chars = 0;
  /**
   * whether end() must run the Set again: text came since the last Set run, or that run left a
   * candidate unconfirmed (a match touching the end of the text waits for the final run). When
   * false, a final run could only find what the last run found, all of it confirmed or reported.
   */
  private setDirty = false;
  /** the RE2.Set applies to this context's channel at all */
  private readonly useSet: boolean;
  /** characters that can begin a Set match here (null: any) */
  private readonly setFirst: Uint8Array | null;

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly mask: number,
    private readonly direction: Direction,
    private readonly excerptBytes: number,
    /** by rule index: 1 for rules another part scans (a streamed answer's hold-back) */
    private readonly skip: Uint8Array | null = null,
  ) {
    this.useSet = policy.set !== null && (policy.setMask & mask) !== 0;
    this.setFirst = policy.setFirst[mask & 15] ?? null;
  }

  /**
   * Scans one more piece of the stream. Returns hits confirmed by it, or null. `owned`: the text
   * is a fresh string that is no slice of a bigger one (the inspector's decoded text), so a short
   * one may be kept as the tail without a copy: it pins nothing but itself.
   */
  write(text: string, owned = false): Hit[] | null {
    if (text.length === 0) return null;
    this.chars += text.length;
    const p = this.policy;
    const from = this.tail.length;
    // The automaton runs over the new piece itself (a flat string: fast character access);
    // tail + piece is only built when a confirm needs the context, which is rare.
    this.piece = text;
    this.bufLen = from + text.length;
    if (p.ac) this.state = p.ac.scan(text, 0, text.length, this.state, this);
    if (this.pending) this.confirmPending(false);
    if (this.useSet) this.scanSet(from, false);
    // Keep only the bounded tail, as a copy that does not pin the caller's (possibly big) string.
    if (text.length >= p.tail) {
      this.tail = copy(text.slice(text.length - p.tail));
      this.base += this.bufLen - p.tail;
    } else if (this.bufLen > p.tail) {
      const cut = this.bufLen - p.tail;
      this.tail = copy(this.buffer().slice(cut));
      this.base += cut;
    } else {
      this.tail = from === 0 ? (owned ? text : copy(text)) : this.buffer();
    }
    this.buf = null;
    this.piece = '';
    const out = this.out;
    this.out = null;
    return out;
  }

  /** tail + the piece being scanned, built on first need during a write. */
  private buffer(): string {
    if (this.buf === null) this.buf = this.tail.length === 0 ? this.piece : copy(this.tail + this.piece);
    return this.buf;
  }

  /** The stream ended: confirm what still waits, with the text there is. */
  end(): Hit[] | null {
    this.piece = this.tail;
    this.tail = '';
    this.bufLen = this.piece.length;
    if (this.pending) this.confirmPending(true);
    // matches that touched the end of the text could not be taken before: take them now
    if (this.setDirty && this.bufLen > 0) this.scanSet(Math.max(0, this.bufLen - this.policy.setWindow), true);
    this.tail = this.piece;
    this.piece = '';
    this.buf = null;
    const out = this.out;
    this.out = null;
    return out;
  }

  /** Separates unrelated pieces (two messages) so that no atom spans them. */
  boundary(): void {
    this.state = 0;
  }

  bytes(): number {
    // object header + fields, the tail (one byte per Latin-1 character, two otherwise, taken as 2)
    return 64 + this.tail.length * 2 + (this.pending ? 16 + this.pending.length * 8 : 0) + (this.reported ? 16 + this.reported.length * 8 : 0);
  }

  onAtom(atom: number, pieceEnd: number): void {
    const p = this.policy;
    const end = pieceEnd + (this.bufLen - this.piece.length);
    for (let k = p.atomStart[atom]; k < p.atomStart[atom + 1]; k++) {
      const pid = p.atomPat[k];
      const pat = p.patterns[pid];
      const rule = p.rules[pat.rule];
      if ((rule.mask & this.mask) === 0 || this.wasReported(pat.rule) || (this.skip !== null && this.skip[pat.rule] === 1)) continue;
      const len = p.ac!.atomLen[atom];
      const winEnd = end - len + pat.window;
      // Try at once with the text there is; if the window is not complete yet, try again as
      // more arrives, so a secret is caught as soon as enough of it has been seen.
      if (this.confirm(pat, end - pat.window, winEnd, false)) continue;
      if (winEnd > this.bufLen && !this.hasPending(pid)) {
        this.pending ??= [];
        if (this.pending.length < MAX_PENDING * 2) this.pending.push(pid, this.base + end);
      }
    }
  }

  private hasPending(pid: number): boolean {
    const q = this.pending;
    if (q === null) return false;
    for (let i = 0; i < q.length; i += 2) if (q[i] === pid) return true;
    return false;
  }

  private confirmPending(final: boolean): void {
    const q = this.pending!;
    const p = this.policy;
    let w = 0;
    for (let i = 0; i < q.length; i += 2) {
      const pat = p.patterns[q[i]];
      const end = q[i + 1] - this.base;
      const winEnd = end + pat.window;
      if (this.wasReported(pat.rule) || this.confirm(pat, end - pat.window, winEnd, final)) continue;
      if (!final && winEnd > this.bufLen) {
        q[w++] = q[i];
        q[w++] = q[i + 1];
      }
    }
    q.length = w;
    if (w === 0) this.pending = null;
  }

  private scanSet(from: number, final: boolean): void {
    const p = this.policy;
    const start = Math.max(0, from - p.setWindow);
    const buf = this.buffer();
    const first = this.setFirst;
    if (first !== null && !hasAny(buf, start, this.bufLen, first)) {
      // no match can begin in this text: as if the Set had found nothing
      this.setDirty = false;
      return;
    }
    // RE2 converts a string argument to UTF-8 on every call, slower than Buffer.from does it;
    // the Set reports pattern ids only, so byte offsets do not matter here.
    const ids = p.set!.match(Buffer.from(start === 0 ? buf : buf.slice(start), 'utf8'));
    let waiting = false;
    for (const i of ids) {
      const pat = p.patterns[p.setPat[i]];
      if ((p.rules[pat.rule].mask & this.mask) === 0 || this.wasReported(pat.rule) || (this.skip !== null && this.skip[pat.rule] === 1)) continue;
      // the window reaches the end of the text seen so far: a match touching it waits (see confirm)
      if (!this.confirm(pat, start, final ? this.bufLen : this.bufLen + 1, final)) waiting = true;
    }
    this.setDirty = !final && waiting;
  }

  private wasReported(rule: number): boolean {
    return this.reported !== null && this.reported.includes(rule);
  }

  /**
   * Runs the pattern's RE2 on buf[from, to) and records a hit if it matches (and validates).
   * A window cut short by the text seen so far must not fake an edge: a match of a pattern ending
   * in `$` or `\b` that touches the cut (where it holds only because the text stops there) waits
   * for more text; any other match is taken at once, in the chunk that completes it. The
   * window starts one character early so that `^` or `\b` at its start means the real thing.
   */
  private confirm(pat: CompiledPattern, from: number, to: number, final: boolean): boolean {
    const len = this.bufLen;
    const a = from <= 1 ? 0 : from - 1;
    const b = to > len ? len : to;
    if (b <= a) return false;
    const cutLeft = a > 0;
    const cutRight = !final && to > len && pat.edge;
    // A window inside the new piece is cut from it directly: no tail + piece copy needed.
    const off = len - this.piece.length;
    const win = a >= off ? this.piece.slice(a - off, b - off) : this.buffer().slice(a, b);
    const re = pat.re;
    let m: RegExpExecArray | null;
    re.lastIndex = 0;
    for (;;) {
      m = re.exec(win);
      if (!m) break;
      const end = m.index + m[0].length;
      if (!(cutLeft && m.index === 0) && !(cutRight && end >= win.length)
        && (pat.validate !== 'luhn' || luhnValid(m[0]))) break;
      re.lastIndex = m.index + 1;
    }
    re.lastIndex = 0;
    if (!m) return false;
    const rule = this.policy.rules[pat.rule];
    if (!this.reported) this.reported = [];
    this.reported.push(rule.index);
    const at = a + m.index;
    const hit: Hit = {
      rule: rule.name,
      severity: rule.severity,
      action: rule.action,
      direction: this.direction,
      excerpt: excerpt(this.buffer(), at, m[0].length, this.excerptBytes, rule.redact),
    };
    if (!this.out) this.out = [];
    this.out.push(hit);
    return true;
  }
}

/** Text around a match, at most `limit` UTF-8 bytes; a redacted match keeps its first 4 characters. */
export function excerpt(text: string, at: number, len: number, limit: number, redact: boolean): string {
  const shown = Math.min(len, limit);
  const side = Math.max(0, Math.floor((limit - shown) / 2));
  const s = Math.max(0, at - side);
  const e = Math.min(text.length, at + shown + side);
  let match = text.slice(at, at + shown);
  if (redact) match = match.slice(0, 4) + '*'.repeat(Math.max(0, match.length - 4));
  let out = text.slice(s, at) + match + text.slice(at + shown, e);
  // Characters can be up to 3 UTF-8 bytes (4 for a surrogate pair, 2 units): trim until it fits.
  while (out.length > 0 && Buffer.byteLength(out) > limit) out = out.slice(0, Math.floor(out.length * 0.9));
  return out;
}

/** Whether s[from, to) holds a character of the 128-entry table (non-ASCII characters never do). */
function hasAny(s: string, from: number, to: number, table: Uint8Array): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && table[c] === 1) return true;
  }
  return false;
}

/** Forces a flat copy so a slice does not keep its parent string alive. */
function copy(s: string): string {
  // Slicing a fresh concatenation copies the characters into a new flat string in V8.
  return (' ' + s).slice(1);
}
