// Hold-back for one choice: text with no open candidate goes out as it came, a secret fed one
// character (or any split) at a time goes out only as [REDACTED:<rule>], a block is reported
// before any of the match went out, and what is held stays within a candidate's length.
import { describe, expect, it } from 'vitest';
import { compilePolicy, type PolicyRule } from '../../src/policy/compile.js';
import { HOLD_CAP, derive, holdSpec } from '../../src/policy/hold-rules.js';
import { HoldStream } from '../../src/policy/hold-stream.js';
import { SECRETS } from '../../src/policy/presets/rules.js';
import type { Hit } from '../../src/policy/types.js';

const asRedact = (rules: PolicyRule[]) => rules.map((r) => ({ ...r, action: 'redact' as PolicyRule['action'] }));
const policyOf = (rules: PolicyRule[]) => compilePolicy({ preset: rules, rules: [], tailBytes: 512 });

function feed(rules: PolicyRule[], pieces: string[]): { out: string; hits: Hit[]; outs: string[]; maxHeld: number } {
  const p = policyOf(rules);
  const hs = new HoldStream(holdSpec(p)!, p, 200);
  const hits: Hit[] = [];
  const outs: string[] = [];
  let maxHeld = 0;
  for (const piece of pieces) {
    outs.push(hs.push(piece, false, false, hits));
    maxHeld = Math.max(maxHeld, hs.bytes());
  }
  outs.push(hs.push('', true, false, hits));
  return { out: outs.join(''), hits, outs, maxHeld };
}
const chars = (s: string) => [...s];

const KEYS: Record<string, string> = {
  'secret.aws-access-key': 'AKIA' + 'Z7QK2M4X9B3N5P1R',
  'secret.openai-key': 'sk-proj-' + 'Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5',
  'secret.anthropic-key': 'sk-ant-api03-' + 'x'.repeat(20) + 'Y7z_9-QpR5tU2wV4aB6cD8eF0',
  'secret.github-token': 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8',
};

describe('derived hold rules', () => {
  it('finds the prefixes, characters and length of the preset secrets', () => {
    const aws = derive('\\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}', false)!;
    expect(aws.prefixes).toEqual(['akia', 'asia', 'abia', 'acca']);
    expect(aws.maxLen).toBeLessThanOrEqual(40);
    expect(aws.body[' '.charCodeAt(0)]).toBe(0);
    expect(derive('\\bgh[pousr]_[A-Za-z0-9]{36}', false)!.prefixes).toEqual(['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_']);
    expect(derive('\\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}', false)!.prefixes).toEqual(['sk-']);
    // no literal start, or an unbounded run of anything: cannot be held
    expect(derive('\\b(?:\\d[ -]?){12,18}\\d\\b', false)).toBeNull();
    expect(derive('secret.*', false)).toBeNull();
  });
});

describe('hold-back', () => {
  for (const [rule, key] of Object.entries(KEYS)) {
    it(`redacts ${rule} sent one character at a time, and no 8-character piece of it goes out`, () => {
      const text = `Here it is: ${key} and then more text.`;
      const r = feed(asRedact(SECRETS), chars(text));
      expect(r.out).toBe(`Here it is: [REDACTED:${rule}] and then more text.`);
      expect(r.hits.map((h) => h.rule)).toEqual([rule]);
      for (let i = 0; i + 8 <= key.length; i++) expect(r.out).not.toContain(key.slice(i, i + 8));
      expect(r.maxHeld).toBeLessThan(2048);
    });
  }

  it('lets text with no candidate out at once, piece for piece', () => {
    const pieces = ['Hello ', 'there, ', 'how are ', 'you today?', ' Fine.'];
    const r = feed(asRedact(SECRETS), pieces);
    expect(r.outs.slice(0, pieces.length)).toEqual(pieces);
  });

  it('holds only a suffix that may begin a prefix, and lets it go when it does not', () => {
    const r = feed(asRedact(SECRETS), ['the key is s', 'ome text']);
    expect(r.outs[0]).toBe('the key is ');
    expect(r.outs[1]).toBe('some text');
    // after a word character a prefix of only `\b` rules cannot begin: "ask" holds nothing
    expect(feed(asRedact(SECRETS), ['I ask', 'ed']).outs[0]).toBe('I ask');
  });

  it('redacts at random split points, twice in one text, and at the end of the stream', () => {
    const k = KEYS['secret.aws-access-key'];
    const text = `a ${k} b ${KEYS['secret.github-token']} c ${k}`;
    for (let seed = 1; seed <= 50; seed++) {
      let x = seed;
      const pieces: string[] = [];
      for (let i = 0; i < text.length;) { x = (x * 1103515245 + 12345) & 0x7fffffff; const n = 1 + (x % 7); pieces.push(text.slice(i, i + n)); i += n; }
      const r = feed(asRedact(SECRETS), pieces);
      expect(r.out).toBe('a [REDACTED:secret.aws-access-key] b [REDACTED:secret.github-token] c [REDACTED:secret.aws-access-key]');
    }
  });

  it('swallows the rest of a run longer than the cap', () => {
    const key = 'sk-' + 'A'.repeat(HOLD_CAP + 100);
    const r = feed(asRedact(SECRETS), [...chars(key), ' done']);
    expect(r.out).toBe('[REDACTED:secret.openai-key] done');
  });

  it('reports a block before any of the match went out', () => {
    const key = KEYS['secret.aws-access-key'];
    const r = feed(SECRETS.map((x) => ({ ...x, action: 'block' as const })), chars(`key ${key} more`));
    expect(r.hits.map((h) => [h.rule, h.action])).toEqual([['secret.aws-access-key', 'block']]);
    // once blocked nothing more goes out, whatever follows
    expect(r.out).toBe('key ');
  });

  it('does not hold words that only look like a prefix', () => {
    const r = feed(asRedact(SECRETS), chars('Asia and task-force and ghost'));
    expect(r.out).toBe('Asia and task-force and ghost');
    expect(r.hits).toEqual([]);
  });
});
