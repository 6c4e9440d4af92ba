// Hold-back for one choice of a streamed answer (hold-rules.ts says what may be held). Text goes
// out at once unless it may still complete a match: a suffix that begins a rule's prefix, or a
// started match whose text is still in the rule's character set and within its length. When
// such a candidate resolves, a match of a `redact` rule goes out as `[REDACTED:<rule>]` and the
// text goes on; `block` and `terminate` are reported as soon as the match is there, before any of
// it left. State: the held text (at most a candidate's length plus one piece) and its candidates.
import type { AtomSink } from './aho.js';
import type { CompiledPolicy } from './compile.js';
import type { HoldPattern, HoldSpec } from './hold-rules.js';
import { excerpt } from './scanner.js';
import type { Hit } from './types.js';

/** pending candidates; past this the held text is scanned again when the first one resolves */
const MAX_CANDS = 32;

export class HoldStream implements AtomSink {
  /** text not released yet */
  private held = '';
  /** the character before `held` (what `\b` at a candidate's start looks at) */
  private prev = '';
  private state = 0;
  /** candidates as pairs (start in buf, prefix id), by start */
  private cands: number[] = [];
  private lost = false;
  /** during push: held + the new piece */
  private buf = '';
  /** a redaction cut at HOLD_CAP: the rest of its run is dropped too */
  private swallow: HoldPattern | null = null;
  /** rule indexes already reported by this stream */
  private reported: number[] | null = null;
  /** a block or terminate matched: nothing more goes out */
  private stopped = false;
  /** matches replaced so far */
  redactions = 0;

  constructor(private readonly spec: HoldSpec, private readonly policy: CompiledPolicy, private readonly excerptBytes: number) {}

  get holding(): boolean {
    return this.held.length > 0;
  }

  bytes(): number {
    return 64 + this.held.length * 2 + this.cands.length * 8;
  }

  /**
   * The next piece of this choice's text; returns what may go out now. `final`: the text is over,
   * everything resolves. `refuse` (a piece that cannot be rewritten): any match is a block.
   * Hits go to `out`; a block or terminate hit means nothing more may go out.
   */
  push(t: string, final: boolean, refuse: boolean, out: Hit[]): string {
    if (this.stopped) return '';
    let buf = this.held + t;
    let from = this.held.length;
    if (this.swallow !== null) {
      // held is empty while a run is swallowed: the piece is all new
      let j = 0;
      while (j < buf.length && inBody(this.swallow, buf.charCodeAt(j))) j++;
      if (j === buf.length && !final) return '';
      this.swallow = null;
      buf = buf.slice(j);
      from = 0;
      this.state = 0;
    }
    this.buf = buf;
    this.state = this.spec.ac.scan(buf, from, buf.length, this.state, this);
    const cands = this.cands;
    let i = 0;
    let res = '';
    while (cands.length > 0) {
      const s = cands[0];
      const r = this.resolve(s, final, refuse, out);
      if (r === STOP) { this.reset(); this.stopped = true; return ''; }
      if (r === OPEN) break;
      if (r === DEAD) { this.dropBefore(s + 1); continue; }
      // a redaction: buf[s, r) goes out as the marker
      const p = this.matched!;
      res += buf.slice(i, s) + `[REDACTED:${p.name}]`;
      i = r;
      this.redactions++;
      if (p.swallow && r - s > p.cap) {
        while (i < buf.length && inBody(p, buf.charCodeAt(i))) i++;
        if (i === buf.length && !final) this.swallow = p;
      }
      this.dropBefore(i);
    }
    let rel: number;
    if (final || this.swallow !== null) rel = buf.length;
    else rel = Math.max(i, cands.length > 0 ? cands[0] : buf.length - this.partial(buf.length));
    if (rel > i) res += buf.slice(i, rel);
    if (rel > 0) this.prev = rel > i ? buf[rel - 1] : ']';
    this.held = rel >= buf.length ? '' : copy(buf.slice(rel));
    for (let k = 0; k < cands.length; k += 2) cands[k] -= rel;
    if (final) this.reset();
    this.buf = '';
    return res;
  }

  // AtomSink: a prefix ended at `end` in buf
  onAtom(pid: number, end: number): void {
    const start = end - this.spec.ac.atomLen[pid];
    if (this.spec.prefixWord[pid] === 1 && this.wordBefore(start)) return;
    if (this.cands.length >= MAX_CANDS * 2) { this.lost = true; return; }
    // hits come by their end; keep the list by start (a longer prefix may start earlier)
    let k = this.cands.length;
    // at the same start the longer (later) prefix first: the more specific rule names the match
    while (k > 0 && this.cands[k - 2] >= start) k -= 2;
    this.cands.splice(k, 0, start, pid);
  }

  private matched: HoldPattern | null = null;

  /**
   * Resolves the candidates starting at buf[s] (one per prefix found there): OPEN (wait), DEAD (no
   * match can start there), STOP (a block or terminate matched), or the end of a redacted match.
   */
  private resolve(s: number, final: boolean, refuse: boolean, out: Hit[]): number {
    const buf = this.buf;
    const n = buf.length;
    const cands = this.cands;
    let open = false;
    for (let k = 0; k < cands.length && cands[k] === s; k += 2) {
      for (const id of this.spec.prefixPats[cands[k + 1]]) {
        const p = this.spec.patterns[id];
        let q = s;
        const stop = Math.min(n, s + p.cap + 1);
        while (q < stop && inBody(p, buf.charCodeAt(q))) q++;
        // past a character no match holds, or past the longest match: decided
        const resolved = final || q < n;
        const early = refuse || p.action !== 'redact';
        if (!resolved && !early) { open = true; continue; }
        const len = this.matchAt(p, s, resolved ? Math.min(n, q + 1) : n);
        if (len < 0) { if (!resolved) open = true; continue; }
        // a match touching the end of the text so far may still grow, or its edge may not hold
        if (!resolved && s + len >= n && (p.edge || !early)) { open = true; continue; }
        this.report(p, s, len, refuse, out);
        if (early) return STOP;
        this.matched = p;
        return s + len;
      }
    }
    return open ? OPEN : DEAD;
  }

  /** Length of p's match starting exactly at buf[s] within buf[.., end), or -1. */
  private matchAt(p: HoldPattern, s: number, end: number): number {
    const ctx = s > 0 ? this.buf[s - 1] : this.prev;
    const w = ctx + this.buf.slice(s, end);
    const re = p.re;
    re.lastIndex = ctx.length;
    const m = re.exec(w);
    re.lastIndex = 0;
    return m !== null && m.index === ctx.length ? m[0].length : -1;
  }

  private report(p: HoldPattern, s: number, len: number, refuse: boolean, out: Hit[]): void {
    const rule = this.policy.rules[p.rule];
    if (this.reported?.includes(rule.index)) return;
    (this.reported ??= []).push(rule.index);
    out.push({
      rule: rule.name, severity: rule.severity, action: refuse && p.action === 'redact' ? 'block' : rule.action, direction: 'response',
      excerpt: excerpt(this.buf, s, len, this.excerptBytes, rule.redact),
    });
  }

  /** Characters at the end of buf that may still begin a prefix (none after a word character when only `\b` patterns could follow). */
  private partial(n: number): number {
    const spec = this.spec;
    const d = spec.ac.depthOf(this.state);
    if (d === 0 || d >= n + 1) return d;
    return spec.wordStart[this.state / spec.ac.classes] === 1 && this.wordBefore(n - d) ? 0 : d;
  }

  /** Whether the character before buf[at] is an ASCII word character (then `\b` fails at `at`). */
  private wordBefore(at: number): boolean {
    const c = at > 0 ? this.buf.charCodeAt(at - 1) : this.prev.length > 0 ? this.prev.charCodeAt(0) : 32;
    return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  }

  /** Drops candidates that start before `at`; a lost one makes the rest of buf be scanned again. */
  private dropBefore(at: number): void {
    const c = this.cands;
    let k = 0;
    while (k < c.length && c[k] < at) k += 2;
    c.splice(0, k);
    if (this.lost && c.length < MAX_CANDS) {
      this.lost = false;
      c.length = 0;
      this.state = this.spec.ac.scan(this.buf, at, this.buf.length, 0, this);
    }
  }

  private reset(): void {
    this.held = '';
    this.cands.length = 0;
    this.buf = '';
    this.state = 0;
    this.swallow = null;
    this.lost = false;
  }
}

const OPEN = -1;
const DEAD = -2;
const STOP = -3;

function inBody(p: HoldPattern, c: number): boolean {
  return c < 128 ? p.body[c] === 1 : p.high;
}

function copy(s: string): string {
  return s.length === 0 ? '' : (' ' + s).slice(1);
}
