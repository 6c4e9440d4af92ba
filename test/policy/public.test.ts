// Floors on public data the rules were not tuned on: the TEST half of ../shared/corpus-public/,
// read where it lies at run time (never copied here). Skipped only when the folder is absent.
// The floors sit a little under what bench:detect measures (BENCHMARKS.md), so a change that loses
// recall or adds false positives on text nobody here wrote fails here. standard and strict blend
// the rules with the linear classifier (trained on the dev half only); they are still short of
// issue #14's recall targets (standard 90% at <= 2%), reported as it is.
import { describe, expect, it } from 'vitest';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import type { Preset } from '../../src/config/schema.js';
import { createPolicyEngine } from '../../src/policy/index.js';
// shared with bench/detect.mjs, so the published figures are the tested ones
import { loadCorpus, measure } from './public/measure.mjs';

const corpus = loadCorpus();
const engineFor = (preset: Preset) => createPolicyEngine({ preset, rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });

describe.skipIf(corpus === null)('public corpus, test half', () => {
  it('splits as its README says', () => {
    const test = corpus!.attacks.filter((r: { half: string }) => r.half === 'test').length;
    expect(test).toBeGreaterThan(corpus!.attacks.length * 0.4);
    expect(test).toBeLessThan(corpus!.attacks.length * 0.6);
  });

  const FLOORS: Array<[Preset, number, number]> = [
    // preset, recall at least, false positives at most
    ['minimal', 0.26, 0.015],
    ['standard', 0.51, 0.015],
    ['strict', 0.55, 0.02],
  ];
  for (const [preset, recall, fp] of FLOORS) {
    it(`${preset}: recall >= ${recall}, false positives <= ${fp}`, () => {
      const m = measure(engineFor, preset, corpus!, 'test');
      expect(m.recall.rate).toBeGreaterThanOrEqual(recall);
      expect(m.fp.rate).toBeLessThanOrEqual(fp);
    });
  }

  it('off flags nothing', () => {
    const m = measure(engineFor, 'off', corpus!, 'test');
    expect(m.recall.k + m.fp.k).toBe(0);
  });
});
