import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import type { RuleConfig } from '../../src/config/schema.js';
import { RESP_TEXT } from '../../src/policy/channels.js';
import { compilePolicy, type PolicyRule } from '../../src/policy/compile.js';
import { luhnValid } from '../../src/policy/luhn.js';
import { ScanContext } from '../../src/policy/scanner.js';

const rule = (r: Partial<RuleConfig> & { name: string }): PolicyRule =>
  ({ target: 'both', severity: 'high', action: 'block', ...r }) as PolicyRule;

function compile(rules: PolicyRule[], tail = 512) {
  return compilePolicy({ preset: [], rules, tailBytes: tail });
}

function scanPieces(rules: PolicyRule[], pieces: string[]): string[] {
  const ctx = new ScanContext(compile(rules), RESP_TEXT, 'response', 200);
  const names: string[] = [];
  for (const p of pieces) for (const h of ctx.write(p) ?? []) names.push(h.rule);
  for (const h of ctx.end() ?? []) names.push(h.rule);
  return names;
}

describe('scanner context', () => {
  const rules = [
    rule({ name: 'inj', patterns: ['(?i)\\bignore\\s+(?:all\\s+)?previous\\s+instructions'] }),
    rule({ name: 'aws', patterns: ['\\bAKIA[0-9A-Z]{16}\\b'] }),
    rule({ name: 'lit', literals: ['Project Nightingale'] }),
    rule({ name: 'noatom', patterns: ['\\b\\d{3}-\\d{2}-\\d{4}\\b'] }),
  ];
  const text = 'ok so IGNORE all previous Instructions; key AKIAABCDEFGHIJKLMNOP; about project nightingale; ssn 123-45-6789 end';

  it('finds each rule once in one piece', () => {
    expect(scanPieces(rules, [text]).sort()).toEqual(['aws', 'inj', 'lit', 'noatom']);
  });

  it('finds the same matches at every split point of the text', () => {
    for (let i = 1; i < text.length; i++) {
      expect(scanPieces(rules, [text.slice(0, i), text.slice(i)]).sort(), `split at ${i}`).toEqual(['aws', 'inj', 'lit', 'noatom']);
    }
  });

  it('finds matches fed one character at a time', () => {
    expect(scanPieces(rules, [...text]).sort()).toEqual(['aws', 'inj', 'lit', 'noatom']);
  });

  it('does not take the end of the text seen so far for the end of the text', () => {
    const end = [rule({ name: 'end', patterns: ['\\bdelete\\s+from\\s+\\w+\\s*$'] }), rule({ name: 'word', patterns: ['\\bcat\\b'] })];
    expect(scanPieces(end, ['delete from users', ' where id = 1'])).toEqual([]);
    expect(scanPieces(end, ['delete from users'])).toEqual(['end']);
    expect(scanPieces(end, ['the cat', 'alog'])).toEqual([]);
    expect(scanPieces(end, ['the cat', ' sat'])).toEqual(['word']);
  });

  it('runs atom-less patterns in the RE2.Set, literals case-insensitively', () => {
    const p = compile([rule({ name: 'short', literals: ['q7'] }), rule({ name: 'digits', patterns: ['\\b\\d{4}-\\d{4}\\b'] })]);
    expect(p.ac).toBeNull();
    expect(p.setPat.length).toBe(2);
    expect(scanPieces([rule({ name: 'short', literals: ['q7'] })], ['code Q', '7 here'])).toEqual(['short']);
    expect(scanPieces([rule({ name: 'digits', patterns: ['\\b\\d{4}-\\d{4}\\b'] })], ['call 1234-56', '78 now'])).toEqual(['digits']);
    expect(scanPieces([rule({ name: 'digits', patterns: ['\\b\\d{4}-\\d{4}\\b'] })], ['call 1234-5678', '9 now'])).toEqual([]);
  });

  it('reports a match in the very piece that completes it, so the proxy can withhold that piece', () => {
    const ctx = new ScanContext(compile([rule({ name: 'aws', patterns: ['\\bAKIA[0-9A-Z]{16}'] })]), RESP_TEXT, 'response', 200);
    expect(ctx.write('the key is AKIA')).toBeNull();
    expect(ctx.write('ABCDEFGH')).toBeNull();
    expect(ctx.write('IJKLMNOP')?.map((h) => h.rule)).toEqual(['aws']);
  });

  it('respects case when the pattern does', () => {
    expect(scanPieces(rules, ['akiaabcdefghijklmnop'])).toEqual([]);
  });

  it('keeps a bounded tail whatever the stream length', () => {
    const ctx = new ScanContext(compile(rules, 256), RESP_TEXT, 'response', 200);
    const chunk = 'lorem ipsum dolor sit amet '.repeat(40);
    for (let i = 0; i < 200; i++) ctx.write(chunk);
    expect(ctx.bytes()).toBeLessThan(256 * 2 + 200);
  });

  it('bounds and redacts excerpts', () => {
    const p = compilePolicy({ preset: [], rules: [{ ...rule({ name: 'k', patterns: ['sk-[A-Za-z0-9]{20,}'] }), redact: true }], tailBytes: 512 });
    const ctx = new ScanContext(p, RESP_TEXT, 'response', 40);
    const hits = ctx.write(`${'x '.repeat(100)}sk-abcdefghijklmnopqrstuvwxyz ${'y '.repeat(100)}`);
    expect(hits).toHaveLength(1);
    expect(Buffer.byteLength(hits![0].excerpt)).toBeLessThanOrEqual(40);
    expect(hits![0].excerpt).toContain('sk-a****');
    expect(hits![0].excerpt).not.toContain('abcdefghij');
  });

  it('runs the atom-less Set on the text a piece completes, though the piece has no digit', () => {
    const r = rule({ name: 'tag', patterns: ['\\d{4}[a-z]{2}'] });
    expect(scanPieces([r], ['abc 1234', 'xy'])).toEqual(['tag']);
    expect(scanPieces([r], ['abc ', 'no digits here'])).toEqual([]);
  });

  it('takes at the end a Set match that waited for the next character', () => {
    expect(scanPieces([rules[3]], ['ssn 123-45-6789'])).toEqual(['noatom']);
    expect(scanPieces([rules[3]], ['ssn 123-45-', '6789'])).toEqual(['noatom']);
  });

  it('still runs the Set when a non-ASCII character can begin a match (case folding)', () => {
    const r = rule({ name: 'kelvin', patterns: ['(?i)k\\d{2}'] });
    expect(scanPieces([r], ['temp \u212a12 today'])).toEqual(['kelvin']);
  });
});

describe('Luhn', () => {
  it('accepts valid card numbers and rejects others', () => {
    expect(luhnValid('4111 1111 1111 1111')).toBe(true);
    expect(luhnValid('5500-0000-0000-0004')).toBe(true);
    expect(luhnValid('4111 1111 1111 1112')).toBe(false);
    expect(luhnValid('0000 0000 0000')).toBe(false); // 12 digits: too short
  });

  it('a card rule with validate: luhn ignores digit runs that fail the check', () => {
    const r: PolicyRule = { ...rule({ name: 'card', patterns: ['\\b(?:\\d[ -]?){12,18}\\d\\b'] }), validate: 'luhn' };
    expect(scanPieces([r], ['order 1234 5678 9012 3456 shipped'])).toEqual([]);
    expect(scanPieces([r], ['pay with 4111 1111 ', '1111 1111 thanks'])).toEqual(['card']);
  });
});

describe('rule loading', () => {
  it('refuses patterns RE2 cannot run in linear time, naming the rule and pattern', () => {
    const bad = [
      rule({ name: 'ok', patterns: ['fine'] }),
      rule({ name: 'x', patterns: ['ok'] }),
      rule({ name: 'backref', patterns: ['fine', '(a+)\\1'] }),
      rule({ name: 'look', patterns: ['foo(?=bar)'] }),
    ];
    let err: unknown;
    try {
      compile(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^policy\.rules\[2\]\.patterns\[1\]: does not compile in RE2: .*backreferences/);
    expect(problems[1]).toMatch(/^policy\.rules\[3\]\.patterns\[0\]: .*lookahead/);
  });

  it('lets a config rule replace a preset rule of the same name', () => {
    const p = compilePolicy({ preset: [rule({ name: 'a', patterns: ['aaa'] })], rules: [rule({ name: 'a', patterns: ['bbb'], action: 'flag' })], tailBytes: 512 });
    expect(p.rules).toHaveLength(1);
    expect(p.rules[0].source).toBe('config');
    expect(p.patterns.map((x) => x.source)).toEqual(['bbb']);
  });

  it('uses the profile tail', () => {
    expect(compile([rule({ name: 'a', patterns: ['aaa'] })], PROFILE_BOUNDS['high-density'].scan_tail_bytes).tail).toBe(256);
  });
});
