// A linear classifier over the words of the normalized text: hashed word unigrams and bigrams,
// weights learned from public data (scripts/train-detect.mjs, development half only). Rules know
// phrasings; this knows the vocabulary of a class (persona framing, override verbs, harm asks)
// and how it differs from ordinary text that merely says "ignore" or "system". One pass over the
// text, no allocation: words are hashed as they are read.

import { LINEAR_MODEL } from './linear-weights.js';

/** Hash buckets of the feature space (2^16 one-byte weights). */
export const LINEAR_BITS = 16;
const MASK = (1 << LINEAR_BITS) - 1;

export interface LinearWeights {
  /** one signed byte per bucket; weight = byte * scale */
  readonly weights: Int8Array;
  readonly scale: number;
  /** words added to a text's count before scaling by 1/sqrt: short texts weigh less */
  readonly damp: number;
  /** fewer words than this give no evidence for an attack, only against: a short look-alike
   * ("ignore the typos above") is the rules' to judge */
  readonly minWords: number;
}

/** What forEachFeature reports to: a bucket per feature, a call per word. */
export interface FeatureSink {
  feature(bucket: number): void;
  word(): void;
}

/** Running sums over the texts of one request; reset() reuses it. */
export class LinearScore implements FeatureSink {
  private sum = 0;
  private words = 0;

  constructor(private readonly model: LinearWeights) {}

  reset(): void {
    this.sum = 0;
    this.words = 0;
  }

  /** Adds the features of one (normalized) text. */
  add(text: string): void {
    forEachFeature(text, this);
  }

  feature(bucket: number): void {
    this.sum += this.model.weights[bucket]!;
  }

  word(): void {
    this.words++;
  }

  /**
   * The evidence: the weights of the text's features, scaled down for short texts, without the
   * bias, so a text with no known word (or none at all) adds 0 to the rules' score.
   */
  score(): number {
    const m = this.model;
    const e = (this.sum * m.scale) / Math.sqrt(this.words + m.damp);
    return e > 0 && this.words < m.minWords ? 0 : e;
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Reports the bucket of every word and of every pair of adjacent words, and each word once. A word is a run of ASCII letters, digits and apostrophes, case-folded; anything else
 * separates words. Exported so training uses the very same features.
 */
export function forEachFeature(text: string, sink: FeatureSink): void {
  let h = FNV_OFFSET;
  let len = 0;
  let prev = -1;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    let c = i < n ? text.charCodeAt(i) : 32;
    if (c >= 65 && c <= 90) c += 32;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 39) {
      h = Math.imul(h ^ c, FNV_PRIME);
      len++;
      continue;
    }
    if (len === 0) continue;
    const u = h >>> 0;
    sink.word();
    sink.feature(mix(u) & MASK);
    if (prev >= 0) sink.feature(mix(Math.imul(prev ^ 0x9e3779b9, 0x85ebca6b) ^ u) & MASK);
    prev = u;
    h = FNV_OFFSET;
    len = 0;
  }
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

let loaded: LinearWeights | null = null;

/** The trained weights (linear-weights.ts), decoded once, on first use. */
export function linearModel(): LinearWeights {
  loaded ??= decodeWeights(LINEAR_MODEL);
  return loaded;
}

/** Decodes the generated weights module's base64. */
export function decodeWeights(m: Omit<LinearWeights, 'weights'> & { base64: string }): LinearWeights {
  const bytes = Buffer.from(m.base64, 'base64');
  if (bytes.length !== 1 << LINEAR_BITS) throw new Error(`linear weights: ${bytes.length} bytes, expected ${1 << LINEAR_BITS}`);
  return { weights: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), scale: m.scale, damp: m.damp, minWords: m.minWords };
}
