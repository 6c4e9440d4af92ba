// Anomaly scoring of request text, as OWASP CRS scores HTTP requests: the weighted signals of
// signals.ts and the statistics of heuristics.ts add up over the request's new text, each signal
// once; at the preset's threshold the request gets one hit named for the signal that weighed most,
// with the score and the families (labels) that made it. Scores in the grey band below the
// threshold are what a judge may be asked about. Signals read the normalized view; the excerpt
// shows the original text.
import type { Direction, Severity } from '../../events.js';
import type { AtomSink } from '../aho.js';
import { compilePolicy, type CompiledPolicy, type CompileInput, type PolicyRule } from '../compile.js';
import { excerpt } from '../scanner.js';
import type { Hit } from '../types.js';
import { JUDGE_TEXT_MAX } from '../judge/judge.js';
import { suffixWeight, textStats } from './heuristics.js';
import { LinearScore, linearModel } from './linear.js';
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
  /**
   * The linear classifier's part (linear.ts, requests only): refused when
   * score / threshold + weight * evidence >= linear.threshold. Absent: rules alone.
   */
  linear?: { weight: number; threshold: number } | undefined;
}

/** What the signals compile from. */
export function detectorInput(config: DetectionConfig): CompileInput {
  return { preset: config.signals, rules: [], tailBytes: 512 };
}

/** Signals that come from statistics and normalization, not from a pattern. */
const SUFFIX = 'obfuscation.adversarial-suffix';
const ENCODED = 'obfuscation.encoded-payload';
const DISGUISED = 'obfuscation.disguised-text';
const CIPHER = 'obfuscation.ciphertext';
/** the name a refusal carries when the classifier, not a signal, made the difference */
export const CLASSIFIER = 'classifier.linear';
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
  /** the classifier's evidence, or null where rules decide alone (a preset without it, responses) */
  linear: number | null;
}

export class Detector {
  readonly policy: CompiledPolicy;
  readonly weights: Float64Array;
  readonly names: string[];
  /** scratch of one match() (it runs to completion): patterns whose atoms occurred, and their queue */
  readonly marked: Uint8Array;
  readonly queue: number[] = [];

  /** `policy`: the signals already compiled (detectorInput; a reload compiles them sliced) */
  constructor(readonly config: DetectionConfig, readonly excerptBytes: number, policy?: CompiledPolicy) {
    this.policy = policy ?? compilePolicy(detectorInput(config));
    this.weights = Float64Array.from(this.policy.rules.map((r) => config.signals.find((s) => s.name === r.name)?.weight ?? 0));
    this.names = [...this.policy.rules.map((r) => r.name), SUFFIX, ENCODED, DISGUISED, CIPHER];
    this.marked = new Uint8Array(this.policy.patterns.length);
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
  /** weight per signal (by index into detector.names), 0 when not seen; made on the first signal */
  private found: Float64Array | null = null;
  /** for each signal seen: the text it was seen in, to show the original in the excerpt */
  private where: Array<{ raw: string; norm: NormalizedText } | undefined> | null = null;
  /** the texts scored, up to JUDGE_TEXT_MAX characters, for the judge */
  private sample = '';
  /** trained on prompts: requests only; answers and streams are the rules' alone */
  private readonly lin: LinearScore | null;

  constructor(private readonly d: Detector, private readonly direction: Direction, private readonly keepSample: boolean) {
    this.lin = d.config.linear !== undefined && direction === 'request' ? new LinearScore(linearModel()) : null;
  }

  onAtom(atom: number): void {
    const d = this.d;
    const p = d.policy;
    for (let k = p.atomStart[atom]; k < p.atomStart[atom + 1]; k++) {
      const pid = p.atomPat[k];
      if (d.marked[pid] === 0) {
        d.marked[pid] = 1;
        d.queue.push(pid);
      }
    }
  }

  /** The signal table, made when the first signal is seen: most texts have none. */
  private table(): Float64Array {
    if (this.found === null) {
      this.found = new Float64Array(this.d.names.length);
      this.where = new Array(this.d.names.length);
    }
    return this.found;
  }

  private weightOf(i: number): number {
    return this.found === null ? 0 : this.found[i];
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
      this.lin?.add(norm.text);
      this.match(norm.text, raw, norm);
      this.flags(norm.flags, raw, norm);
    } else {
      // normalized in pieces so scratch memory stays bounded; a match across two pieces is lost
      const sn = new StreamNormalizer();
      for (let i = 0; i < raw.length; i += PIECE) {
        const norm = sn.push(raw.slice(i, i + PIECE));
        this.lin?.add(norm.text);
        this.match(norm.text, null, null);
        this.flags(norm.flags, null, null);
      }
      this.match(sn.end().text, null, null);
    }
    // Adversarial suffixes and ciphertext attack the model through its input. In an answer the
    // same statistics mostly mean hashes, keys and encoded data that a coding agent legitimately gets.
    if (this.direction !== 'request') return;
    const n = this.d.names.length;
    const w = suffixWeight(textStats(raw));
    if (w > this.weightOf(n - 4)) this.table()[n - 4] = w;
    const c = cipherWeight(cipherStats(raw));
    if (c > this.weightOf(n - 1)) this.table()[n - 1] = c;
  }

  private match(text: string, raw: string | null, norm: NormalizedText | null): void {
    const p = this.d.policy;
    if (p.ac) p.ac.scan(text, 0, text.length, 0, this);
    let buf: Buffer | null = null;
    const q = this.d.queue;
    for (let k = 0; k < q.length; k++) {
      const pid = q[k];
      this.d.marked[pid] = 0;
      const rule = p.patterns[pid].rule;
      if (this.weightOf(rule) !== 0) continue;
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
        if (this.weightOf(rule) === 0) this.hit(rule, raw, norm);
      }
    }
  }

  private hit(rule: number, raw: string | null, norm: NormalizedText | null): void {
    this.table()[rule] = this.d.weights[rule];
    this.remember(rule, raw, norm);
  }

  /** Keeps the text a signal was seen in, for the excerpt. */
  private remember(i: number, raw: string | null, norm: NormalizedText | null): void {
    if (raw === null || norm === null) return;
    const found = this.table();
    const where = this.where!;
    if (this.keepSample) {
      where[i] = { raw, norm };
      return;
    }
    // a stream keeps only the window of its heaviest signal: one window held, not one per signal
    const w = found[i];
    for (let k = 0; k < where.length; k++) {
      if (where[k] === undefined || k === i) continue;
      if (found[k] >= w) return;
      where[k] = undefined;
    }
    where[i] = { raw, norm };
  }

  private flags(f: number, raw: string | null, norm: NormalizedText | null): void {
    // encoded or disguised text hides an instruction from the model; in an answer it is data
    if (this.direction !== 'request') return;
    const n = this.d.names.length;
    if ((f & NORM_DECODED) !== 0) this.mark(n - 3, ENCODED_WEIGHT, raw, norm);
    if ((f & (NORM_LEET | NORM_SPACED | NORM_INVISIBLE)) !== 0) this.mark(n - 2, DISGUISED_WEIGHT, raw, norm);
  }

  private mark(i: number, w: number, raw: string | null, norm: NormalizedText | null): void {
    const first = this.weightOf(i) === 0;
    if (w > this.weightOf(i)) this.table()[i] = w;
    if (first) this.remember(i, raw, norm);
  }

  result(): DetectResult {
    const d = this.d;
    const found = this.found;
    const linear = this.lin === null ? null : this.lin.score();
    if (found === null && !(linear !== null && linear > 0)) {
      return { score: 0, labels: [], top: null, hit: null, doubtful: false, signals: [], text: this.sample, linear };
    }
    let score = 0;
    let top = -1;
    const fam = new Map<string, number>();
    const signals: Array<[string, number]> = [];
    if (found !== null) {
      for (let i = 0; i < found.length; i++) {
        const w = found[i];
        if (w === 0) continue;
        signals.push([d.names[i], w]);
        score += w;
        if (w < 0) continue;
        if (top < 0 || w > found[top]) top = i;
        const f = d.names[i].slice(0, d.names[i].indexOf('.'));
        fam.set(f, (fam.get(f) ?? 0) + w);
      }
    }
    const c = d.config;
    let topName = top >= 0 ? d.names[top] : null;
    // rules alone: the anomaly score against the threshold; blended: the score in units of the
    // threshold plus the classifier's weighted evidence, against the blend's threshold
    let refused: boolean;
    let doubtful: boolean;
    if (linear === null || c.linear === undefined) {
      refused = topName !== null && score >= c.threshold;
      doubtful = topName !== null && score >= c.grey;
    } else {
      const blended = score / c.threshold + c.linear.weight * linear;
      refused = blended >= c.linear.threshold;
      doubtful = blended >= (c.linear.threshold * c.grey) / c.threshold;
      if (linear > 0) {
        signals.push([CLASSIFIER, linear]);
        fam.set('classifier', c.linear.weight * linear * c.threshold);
        topName ??= CLASSIFIER;
      }
    }
    const labels = [...fam.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
    if (!refused || topName === null) {
      return { score, labels, top: topName, hit: null, doubtful, signals, text: this.sample, linear };
    }
    const hit: Hit = {
      rule: topName, severity: c.severity, action: c.action, direction: this.direction,
      excerpt: top >= 0 ? this.excerptOf(top) : excerpt(this.sample, 0, Math.min(this.sample.length, d.excerptBytes), d.excerptBytes, false),
      score, labels,
    };
    return { score, labels, top: topName, hit, doubtful: false, signals, text: this.sample, linear };
  }


  /** The original text around the heaviest signal's match. */
  private excerptOf(i: number): string {
    const at = this.where?.[i];
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
