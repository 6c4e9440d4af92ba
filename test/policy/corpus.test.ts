// Recall and false-positive rate of each preset over a corpus of attack and benign text. Response
// text is streamed as SSE deltas of 7 characters, so the figures include split-across-delta matching.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import type { Preset } from '../../src/config/schema.js';
import { createPolicyEngine } from '../../src/policy/index.js';
// shared with bench/scan.mjs, so the published recall and false positives are the tested ones
import { flagged } from './corpus/flagged.mjs';

interface Sample { text: string; dir: 'request' | 'response'; kind: 'text' | 'tool'; min?: Preset }
const load = (f: string) => JSON.parse(readFileSync(new URL(`./corpus/${f}`, import.meta.url), 'utf8')) as Sample[];
const ATTACKS = load('attacks.json');
const BENIGN = load('benign.json');
const ORDER: Preset[] = ['off', 'minimal', 'standard', 'strict'];

function measure(preset: Preset) {
  const e = createPolicyEngine({ preset, rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
  const inScope = ATTACKS.filter((a) => ORDER.indexOf(a.min!) <= ORDER.indexOf(preset));
  const caught = inScope.filter((a, i) => flagged(e, a, i));
  const missed = inScope.filter((a) => !caught.includes(a));
  const fps = BENIGN.filter((b, i) => flagged(e, b, 10_000 + i));
  const allCaught = ATTACKS.filter((a, i) => flagged(e, a, 20_000 + i)).length;
  return { recallInScope: caught.length / Math.max(1, inScope.length), recallAll: allCaught / ATTACKS.length, fp: fps.length / BENIGN.length, missed, fps };
}

describe('preset corpus', () => {
  it('has a corpus of a reasonable size', () => {
    expect(ATTACKS.length).toBeGreaterThanOrEqual(50);
    expect(BENIGN.length).toBeGreaterThanOrEqual(50);
  });

  it('off flags nothing', () => {
    const m = measure('off');
    expect(m.recallAll).toBe(0);
    expect(m.fp).toBe(0);
  });

  for (const preset of ['minimal', 'standard', 'strict'] as const) {
    it(`${preset}: catches its attacks and passes benign text`, () => {
      const m = measure(preset);
      expect(m.missed.map((x) => x.text)).toEqual([]);
      expect(m.recallInScope).toBe(1);
      if (preset === 'strict') expect(m.fp).toBeLessThanOrEqual(0.05);
      else expect(m.fps.map((x) => x.text)).toEqual([]);
    });
  }
});
