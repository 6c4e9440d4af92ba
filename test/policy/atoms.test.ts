import { describe, expect, it } from 'vitest';
import { analyzePattern, firstChars } from '../../src/policy/atoms.js';

const atoms = (p: string) => analyzePattern(p).atoms?.slice().sort() ?? null;

describe('atom extraction', () => {
  it('takes the longest literal run', () => {
    expect(atoms('\\bfoo\\s+barbaz\\b')).toEqual(['barbaz']);
    expect(atoms('-----BEGIN (?:RSA )?PRIVATE KEY-----')).toEqual(['-----begin ']);
  });

  it('folds case and handles (?i) and small classes', () => {
    expect(atoms('(?i)Ignore\\s+previous')).toEqual(['previous']);
    expect(atoms('\\bgh[pousr]_[A-Za-z0-9]{36}')).toEqual(['gho_', 'ghp_', 'ghr_', 'ghs_', 'ghu_']);
  });

  it('gives one atom per alternative', () => {
    expect(atoms('(?:ignore|disregard|forget)\\s+all')).toEqual(['disregard', 'forget', 'ignore']);
    expect(atoms('\\b(?:AKIA|ASIA)[0-9A-Z]{16}')).toEqual(['akia', 'asia']);
  });

  it('has no atom when a branch or the whole pattern has none', () => {
    expect(atoms('\\b(?:\\d[ -]?){12,18}\\d\\b')).toBeNull();
    expect(atoms('(?:foobar|\\d+)')).toBeNull();
    expect(atoms('(?:abc)?\\d+')).toBeNull();
    expect(atoms('ab')).toBeNull();
  });

  it('does not trust patterns the JS parser would misread', () => {
    // \z is end-of-text in RE2 but an identity escape in JS non-unicode regexes
    expect(atoms('foobar\\z')).toBeNull();
  });

  it('bounds the match length', () => {
    expect(analyzePattern('abc\\d{2}').maxLen).toBe(7);
    expect(analyzePattern('abc.*').maxLen).toBe(Infinity);
  });
});

describe('firstChars', () => {
  const chars = (p: string, i = false) => {
    const f = firstChars(p, i);
    return f ? [...f].map((v, c) => (v ? String.fromCharCode(c) : '')).join('') : null;
  };
  it('finds the characters a match can begin with', () => {
    expect(chars('\\b(?:\\d[ -]?){12,18}\\d\\b')).toBe('0123456789');
    expect(chars('\\brm\\s+-f')).toBe('r');
    expect(chars('(?:a|b?)c')).toBe('abc');
    expect(chars('[x-z\\d]q')).toBe('0123456789xyz');
    expect(chars('(?i)ab')).toBe('Aa');
    expect(chars('ab', true)).toBe('Aa');
  });
  it('gives up (null) whenever any character could begin a match', () => {
    expect(chars('x*')).toBeNull();
    expect(chars('[^a]b')).toBeNull();
    expect(chars('.b')).toBeNull();
    expect(chars('\\sb')).toBeNull();
    expect(chars('(?i:a)b')).toBeNull();
    expect(chars('\u00e9x')).toBeNull();
    // RE2 folds k to the Kelvin sign and s to the long s
    expect(chars('(?i)k1')).toBeNull();
    expect(chars('s1', true)).toBeNull();
  });
});
