// Anomaly scoring of request text, as OWASP CRS scores HTTP requests: the weighted signals of
// signals.ts and the statistics of heuristics.ts add up over the request's new text, each signal
// once; at the preset's threshold the request gets one hit named for the signal that weighed most,
// with the score and the families (labels) that made it. Scores in the grey band below the
// threshold are what a judge may be asked about. Signals read the normalized view; the excerpt
// shows the original text.
import type { Direction, Severity } from '../../events.js';
import type { AtomSink } from '../aho.js';
import { compilePolicy, type CompiledPolicy, type PolicyRule } from '../compile.js';
import { excerpt } from '../scanner.js';
import type { Hit } from '../types.js';
import { JUDGE_TEXT_MAX } from '../judge/judge.js';
import { suffixWeight, textStats } from './heuristics.js';
import { cipherStats, cipherWeight } from './ciphertext.js';
import { NORM_DECODED, NORM_INVISIBLE, NORM_LEET, NORM_SPACED, normalize, StreamNormalizer, type NormalizedText } from './normalize.js';

export interface DetectionConfig {
  signals: readonly PolicyRule[];
  /** score at which a request is refused */
  threshold: number;
  /** lowest score a judge is asked about with `when: suspicious` */
  grey: number;
  action: 'flag' | 'block' | 'terminate';
  severity: Severity;
}

/** Signals that come from statistics and normalization, not from a pattern. */
const SUFFIX = 'obfuscation.adversarial-suffix';
const ENCODED = 'obfuscation.encoded-payload';
const DISGUISED = 'obfuscation.disguised-text';
const CIPHER = 'obfuscation.ciphertext';
const ENCODED_WEIGHT = 2;
const DISGUISED_WEIGHT = 2;
/** a text longer than this is normalized in pieces, so scratch memory stays bounded */
const PIECE = 64 * 1024;

export interface DetectResult {
  score: number;
  /** families, heaviest first */
  labels: string[];
  /** the heaviest signal */
  top: string | null;
  /** the refusal (or flag) when the score reached the threshold */
  hit: Hit | null;
  /** below the threshold but at or above the grey band */
  doubtful: boolean;
  /** every signal seen with its weight */
  signals: Array<[string, number]>;
  /** the text scored (bounded): what a judge is asked about */
  text: string;
}

export class Detector {
  readonly policy: CompiledPolicy;
  readonly weights: Float64Array;
  readonly names: string[];

  constructor(readonly config: DetectionConfig, readonly excerptBytes: number) {
    this.policy = compilePolicy({ preset: config.signals, rules: [], tailBytes: 512 });
    this.weights = Float64Array.from(this.policy.rules.map((r) => config.signals.find((s) => s.name === r.name)?.weight ?? 0));
    this.names = [...this.policy.rules.map((r) => r.name), SUFFIX, ENCODED, DISGUISED, CIPHER];
  }

  /** `sample`: keep the text for a judge (requests); streams do not, so they stay small */
  open(direction: Direction = 'request', sample = true): DetectScan {
    return new DetectScan(this, direction, sample);
  }
}

/**
 * One request's detection: fed each new text of it, then asked for the result. The automaton marks
 * the patterns whose atoms occur in a text; each marked pattern of a signal not yet seen is then
 * tested once on the whole text (RE2, linear), so a common atom costs one test per text, not one
 * per occurrence.
 */
export class DetectScan implements AtomSink {
  /** weight per signal (by index into detector.names), 0 when not seen */
  private readonly found: Float64Array;
  /** for each signal seen: the text it was seen in, to show the original in the excerpt */
  private readonly where: Array<{ raw: string; norm: NormalizedText } | undefined>;
  /** patterns whose atoms occurred in the current text */
  private readonly marked: Uint8Array;
  private readonly queue: number[] = [];
  /** the texts scored, up to JUDGE_TEXT_MAX characters, for the judge */
  private sample = '';

  constructor(private readonly d: Detector, private readonly direction: Direction, private readonly keepSample: boolean) {
    this.found = new Float64Array(d.names.length);
    this.where = new Array(d.names.length);
    this.marked = new Uint8Array(d.policy.patterns.length);
  }

  onAtom(atom: number): void {
    const p = this.d.policy;
    for (let k = p.atomStart[atom]; k < p.atomStart[atom + 1]; k++) {
      const pid = p.atomPat[k];
      if (this.marked[pid] === 0) {
        this.marked[pid] = 1;
        this.queue.push(pid);
      }
    }
  }

  /** `norm`: the caller's normalize(raw) when it has one (texts up to 64KiB) */
  text(raw: string, norm0: NormalizedText | null = null): void {
    if (raw.length === 0) return;
    if (this.keepSample && this.sample.length < JUDGE_TEXT_MAX) {
      const room = JUDGE_TEXT_MAX - this.sample.length;
      this.sample += (this.sample.length > 0 ? '\n' : '') + (raw.length > room ? raw.slice(0, room) : raw);
    }
    if (raw.length <= PIECE) {
      const norm = norm0 ?? normalize(raw);
      this.match(norm.text, raw, norm);
      this.flags(norm.flags, raw, norm);
    } else {
      // normalized in pieces so scratch memory stays bounded; a match across two pieces is lost
      const sn = new StreamNormalizer();
      for (let i = 0; i < raw.length; i += PIECE) {
        const norm = sn.push(raw.slice(i, i + PIECE));
        this.match(norm.text, null, null);
        this.flags(norm.flags, null, null);
      }
      this.match(sn.end().text, null, null);
    }
    const n = this.d.names.length;
    const w = suffixWeight(textStats(raw));
    if (w > this.found[n - 4]) this.found[n - 4] = w;
    const c = cipherWeight(cipherStats(raw));
    if (c > this.found[n - 1]) this.found[n - 1] = c;
  }

  private match(text: string, raw: string | null, norm: NormalizedText | null): void {
    const p = this.d.policy;
    if (p.ac) p.ac.scan(text, 0, text.length, 0, this);
    let buf: Buffer | null = null;
    const q = this.queue;
    for (let k = 0; k < q.length; k++) {
      const pid = q[k];
      this.marked[pid] = 0;
      const rule = p.patterns[pid].rule;
      if (this.found[rule] !== 0) continue;
      // one UTF-8 copy of the text for all the tests (RE2 converts a string on every call)
      buf ??= Buffer.from(text, 'utf8');
      const re = p.patterns[pid].re;
      // compiled with 'g' for the scanner: test() would start at the last match's end
      re.lastIndex = 0;
      const ok = re.test(buf);
      re.lastIndex = 0;
      if (ok) this.hit(rule, raw, norm);
    }
    q.length = 0;
    // atom-less patterns (RE2.Set): only a few cheap shapes
    if (p.set && (buf ??= Buffer.from(text, 'utf8'))) {
      for (const i of p.set.match(buf)) {
        const rule = p.patterns[p.setPat[i]].rule;
        if (this.found[rule] === 0) this.hit(rule, raw, norm);
      }
    }
  }

  private hit(rule: number, raw: string | null, norm: NormalizedText | null): void {
    this.found[rule] = this.d.weights[rule];
    this.remember(rule, raw, norm);
  }

  /** Keeps the text a signal was seen in, for the excerpt. */
  private remember(i: number, raw: string | null, norm: NormalizedText | null): void {
    if (raw === null || norm === null) return;
    if (this.keepSample) {
      this.where[i] = { raw, norm };
      return;
    }
    // a stream keeps only the window of its heaviest signal: one window held, not one per signal
    const w = this.found[i];
    for (let k = 0; k < this.where.length; k++) {
      if (this.where[k] === undefined || k === i) continue;
      if (this.found[k] >= w) return;
      this.where[k] = undefined;
    }
    this.where[i] = { raw, norm };
  }

  private flags(f: number, raw: string | null, norm: NormalizedText | null): void {
    const n = this.d.names.length;
    if ((f & NORM_DECODED) !== 0) this.mark(n - 3, ENCODED_WEIGHT, raw, norm);
    if ((f & (NORM_LEET | NORM_SPACED | NORM_INVISIBLE)) !== 0) this.mark(n - 2, DISGUISED_WEIGHT, raw, norm);
  }

  private mark(i: number, w: number, raw: string | null, norm: NormalizedText | null): void {
    const first = this.found[i] === 0;
    if (w > this.found[i]) this.found[i] = w;
    if (first) this.remember(i, raw, norm);
  }

  result(): DetectResult {
    const d = this.d;
    let score = 0;
    let top = -1;
    const fam = new Map<string, number>();
    const signals: Array<[string, number]> = [];
    for (let i = 0; i < this.found.length; i++) {
      const w = this.found[i];
      if (w === 0) continue;
      signals.push([d.names[i], w]);
      score += w;
      if (w < 0) continue;
      if (top < 0 || w > this.found[top]) top = i;
      const f = d.names[i].slice(0, d.names[i].indexOf('.'));
      fam.set(f, (fam.get(f) ?? 0) + w);
    }
    const labels = [...fam.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
    const c = d.config;
    const topName = top >= 0 ? d.names[top] : null;
    if (topName === null || score < c.threshold) {
      return { score, labels, top: topName, hit: null, doubtful: topName !== null && score >= c.grey, signals, text: this.sample };
    }
    const hit: Hit = {
      rule: topName, severity: c.severity, action: c.action, direction: this.direction,
      excerpt: this.excerptOf(top), score, labels,
    };
    return { score, labels, top: topName, hit, doubtful: false, signals, text: this.sample };
  }

  /** The original text around the heaviest signal's match. */
  private excerptOf(i: number): string {
    const at = this.where[i];
    const limit = this.d.excerptBytes;
    if (!at) return '';
    const { raw, norm } = at;
    const rule = this.d.policy.rules.findIndex((r) => r.name === this.d.names[i]);
    for (const p of this.d.policy.patterns) {
      if (p.rule !== rule) continue;
      p.re.lastIndex = 0;
      const m = p.re.exec(norm.text);
      p.re.lastIndex = 0;
      if (!m) continue;
      if (norm.map === null) return excerpt(raw, m.index, m[0].length, limit, false);
      const s = norm.map[m.index];
      const e = norm.map[Math.max(m.index, m.index + m[0].length - 1)] + 1;
      return excerpt(raw, s, Math.max(1, e - s), limit, false);
    }
    return excerpt(raw, 0, Math.min(raw.length, limit), limit, false);
  }
}
