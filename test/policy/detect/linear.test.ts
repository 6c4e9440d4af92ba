// The linear classifier: its features are the ones training used (case-folded words and word
// pairs of the normalized text), its score is the weights over sqrt(words + damp), and the
// detector refuses on the blend of rule score and logit, naming the classifier when no signal fired.
import { describe, expect, it } from 'vitest';
import { forEachFeature, LinearScore, LINEAR_BITS, type FeatureSink } from '../../../src/policy/detect/linear.js';
import { Detector, CLASSIFIER } from '../../../src/policy/detect/detector.js';
import { presetDetection } from '../../../src/policy/presets/index.js';

function features(text: string): { buckets: number[]; words: number } {
  const out = { buckets: [] as number[], words: 0 };
  const sink: FeatureSink = { feature: (b) => out.buckets.push(b), word: () => { out.words++; } };
  forEachFeature(text, sink);
  return out;
}

describe('linear features', () => {
  it('one bucket per word and per adjacent pair, case-folded, punctuation separates', () => {
    const a = features('Ignore the rules');
    expect(a.words).toBe(3);
    expect(a.buckets).toHaveLength(5);
    expect(features('ignore, THE rules!').buckets).toEqual(a.buckets);
    for (const b of a.buckets) expect(b).toBeLessThan(1 << LINEAR_BITS);
  });

  it('word order matters through the pairs', () => {
    const ab = features('alpha beta').buckets;
    const ba = features('beta alpha').buckets;
    // emitted as: alpha, beta, (alpha beta)
    expect(new Set(ab.slice(0, 2))).toEqual(new Set(ba.slice(0, 2)));
    expect(ab[2]).not.toBe(ba[2]);
  });

  it('score = scale * sum / sqrt(words + damp), no bias', () => {
    const weights = new Int8Array(1 << LINEAR_BITS);
    for (const b of features('bad words').buckets) weights[b] = 10;
    const s = new LinearScore({ weights, scale: 0.5, damp: 2, minWords: 0 });
    expect(s.score()).toBe(0);
    s.add('bad words');
    expect(s.score()).toBeCloseTo((0.5 * 30) / Math.sqrt(2 + 2));
    s.reset();
    expect(s.score()).toBe(0);
  });

  it('fewer than minWords words give no evidence for, only against', () => {
    const weights = new Int8Array(1 << LINEAR_BITS);
    for (const b of features('bad words').buckets) weights[b] = 10;
    for (const b of features('good words').buckets) weights[b] = -10;
    const model = { weights, scale: 1, damp: 0, minWords: 3 };
    const s = new LinearScore(model);
    s.add('bad words');
    expect(s.score()).toBe(0);
    s.add('bad');
    expect(s.score()).toBeGreaterThan(0);
    const g = new LinearScore(model);
    g.add('good words');
    expect(g.score()).toBeLessThan(0);
  });
});

describe('detector blend', () => {
  const det = new Detector(presetDetection('standard')!, 200);
  const run = (text: string) => { const s = det.open(); s.text(text); return s.result(); };

  it('standard blends the classifier in; ordinary text stays allowed', () => {
    expect(presetDetection('standard')!.linear).toBeDefined();
    const r = run('Could you summarize the attached quarterly sales report and list the three largest regions?');
    expect(r.linear).not.toBeNull();
    expect(r.hit).toBeNull();
  });

  it('a refusal without any signal carries the classifier name', () => {
    // a weight so large the logit alone decides, with the same signals
    const c = presetDetection('standard')!;
    const strong = new Detector({ ...c, linear: { weight: 1000, threshold: 0.5 } }, 200);
    const s = strong.open();
    s.text('hello there');
    const r = s.result();
    if (r.linear! > 0) {
      expect(r.hit?.rule).toBe(r.top);
      expect(r.signals.map((x) => x[0])).toContain(CLASSIFIER);
    } else {
      expect(r.hit).toBeNull();
    }
  });

  it('minimal uses rules alone', () => {
    expect(presetDetection('minimal')!.linear).toBeUndefined();
    const s = new Detector(presetDetection('minimal')!, 200).open();
    s.text('hello');
    expect(s.result().linear).toBeNull();
  });
});
