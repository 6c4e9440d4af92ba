// Config files that try to hurt the loader: alias bombs, deep nesting, timer values node cannot take.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseYaml, readConfigText, validate } from '../../src/config/load.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('hostile YAML', () => {
  it('an alias bomb is one line naming the file', () => {
    let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let prev = 'a';
    for (let i = 1; i < 10; i++) {
      const n = String.fromCharCode(97 + i);
      text += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = n;
    }
    expect(problems(() => parseYaml(text, 'bomb.yaml'))).toEqual(['bomb.yaml: too many alias expansions (a YAML alias bomb?)']);
  });

  it('100k nested flow sequences are refused as nested too deeply, not with a stack overflow message', () => {
    const lines = problems(() => parseYaml(`upstreams: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'deep.yaml'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^deep\.yaml(:\d+:\d+)?: nested too deeply$/);
  });

  it('duplicate keys are an error with a position', () => {
    expect(problems(() => parseYaml('listen: a\nlisten: b\n', 'dup.yaml'))[0]).toMatch(/^dup\.yaml:2:1: /);
  });
});

describe('durations that go to timers', () => {
  const base = { upstreams: [{ url: 'http://127.0.0.1:1' }] };
  it('over 24 days is refused where node would fire after 1ms instead', () => {
    for (const [key, value] of [['timeouts', { connect: '25d' }], ['health', { interval: '99999999999s' }], ['drain_timeout', '30d'], ['websocket', { idle_timeout: '25d' }]] as const) {
      const lines = problems(() => validate({ ...base, [key]: value }));
      expect(lines.join('\n')).toMatch(/must be at most 24d/);
    }
  });
  it('a zero interval is refused (a timer firing every millisecond)', () => {
    expect(problems(() => validate({ ...base, storage: { flush_interval: 0 } }))).toEqual(['storage.flush_interval: must be at least 1ms']);
    expect(problems(() => validate({ ...base, memory: { sample_interval: '0s' } }))).toEqual(['memory.sample_interval: must be at least 1ms']);
    expect(problems(() => validate({ ...base, health: { interval: 0 } }))).toEqual(['health.interval: must be at least 1ms']);
  });
  it('long retention stays valid (it is a cutoff, not a timer), and 0 still means no timeout', () => {
    const cfg = validate({ ...base, storage: { retention: '365d' }, timeouts: { body: 0 } });
    expect(cfg.storage.retention).toBe(365 * 86_400_000);
    expect(cfg.timeouts.body).toBe(0);
  });
});

describe('reading the config file', () => {
  it('an endless device is refused after a bounded read, not read until memory runs out', () => {
    expect(problems(() => readConfigText('/dev/zero'))).toEqual(['/dev/zero: larger than 4MiB; not a config file?']);
  });
  it('a directory and a missing file are one line each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cordon-cfg-'));
    expect(problems(() => readConfigText(dir))).toEqual([`${dir}: cannot read (EISDIR)`]);
    expect(problems(() => readConfigText(join(dir, 'nope.yaml')))).toEqual([`${join(dir, 'nope.yaml')}: cannot read (ENOENT)`]);
  });
  it('an ordinary file reads in full', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cordon-cfg-')), 'c.yaml');
    const text = `upstreams:\n  - url: http://127.0.0.1:1\n# ${'x'.repeat(200_000)}\n`;
    writeFileSync(file, text);
    expect(readConfigText(file)).toBe(text);
  });
});
