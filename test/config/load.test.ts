import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseYaml, validate } from '../../src/config/load.js';
import { parseDuration, parseHostPort, parseSize } from '../../src/config/units.js';

describe('units', () => {
  it('sizes', () => {
    expect(parseSize('10MB')).toBe(10 * 1024 * 1024);
    expect(parseSize('512KiB')).toBe(512 * 1024);
    expect(parseSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseSize(100)).toBe(100);
    expect(parseSize('lots')).toBeNull();
    expect(parseSize('-3')).toBeNull();
    expect(parseSize('10XB')).toBeNull();
  });
  it('durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('forever')).toBeNull();
  });
  it('host:port', () => {
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHostPort('localhost:99999')).toBeNull();
    expect(parseHostPort('nope')).toBeNull();
  });
});

describe('precedence: flag > env > file > default', () => {
  const file = 'listen: 127.0.0.1:1111\nprofile: forensics\nmode: audit\nupstreams:\n  - url: http://file\n';
  it('file beats default', async () => {
    const c = await loadConfig({ flags: { config: 'x.yaml' }, env: {}, fileText: file });
    expect(c.listen.port).toBe(1111);
    expect(c.profile).toBe('forensics');
    expect(c.control_listen.port).toBe(9090);
  });
  it('env beats file, flag beats env', async () => {
    const c = await loadConfig({
      flags: { config: 'x.yaml', profile: 'high-density' },
      env: { CORDON_LISTEN: '127.0.0.1:2222', CORDON_PROFILE: 'standard', CORDON_UPSTREAM: 'http://a, http://b' },
      fileText: file,
    });
    expect(c.listen.port).toBe(2222);
    expect(c.profile).toBe('high-density');
    expect(c.mode).toBe('audit');
    expect(c.upstreams.map((u) => u.url.host)).toEqual(['a', 'b']);
  });
  it('defaults the memory limit to at most 1GiB', () => {
    const c = validate({ upstreams: [{ url: 'http://x' }] });
    expect(c.memory_limit).toBeGreaterThan(0);
    expect(c.memory_limit).toBeLessThanOrEqual(1024 ** 3);
    expect(c.max_body).toBe(10 * 1024 * 1024);
    expect(c.drain_timeout).toBe(10_000);
  });
});

describe('errors', () => {
  it('collects every problem as path: message', () => {
    try {
      validate({ upstreams: [{ url: 'http://x', weight: 0 }], balance: 'random', nope: 1, policy: { rules: [{ name: 'bad name!', patterns: ['x'] }] } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const lines = (err as ConfigError).problems;
      expect(lines).toContain('balance: must be one of round_robin, least_outstanding, weighted, sticky');
      expect(lines).toContain('nope: unknown key');
      expect(lines.some((l) => l.startsWith('upstreams[0].weight: '))).toBe(true);
      expect(lines.some((l) => l.startsWith('policy.rules[0].name: '))).toBe(true);
    }
  });
  it('fleet.flush_interval: a duration, 1s by default, at least 1ms', () => {
    expect(validate({ upstreams: [{ url: 'http://x' }] }).fleet.flush_interval).toBe(1_000);
    expect(validate({ upstreams: [{ url: 'http://x' }], fleet: { flush_interval: '250ms' } }).fleet.flush_interval).toBe(250);
    expect(() => validate({ upstreams: [{ url: 'http://x' }], fleet: { flush_interval: '0ms' } })).toThrowError(ConfigError);
    try {
      validate({ upstreams: [{ url: 'http://x' }], fleet: { flush_interval: 'soon' } });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toContain('fleet.flush_interval: not a duration (try 500ms, 10s, 5m, 7d)');
    }
  });
  it('YAML syntax errors carry line and column', () => {
    expect(() => parseYaml('a: [1,\n', 'f.yaml')).toThrowError(/^f\.yaml:\d+:\d+: /);
  });
  it('a non-mapping document is refused', () => {
    expect(() => parseYaml('- 1\n- 2\n', 'f.yaml')).toThrowError(/top level must be a mapping/);
  });
});

describe('control.allowed_hosts', () => {
  it('takes a list in the file, or a comma-separated list from --control-allowed-hosts / CORDON_CONTROL_ALLOWED_HOSTS', async () => {
    const file = 'upstreams:\n  - url: http://file\ncontrol:\n  allowed_hosts: [cordon.internal]\n';
    expect((await loadConfig({ flags: { config: 'c.yaml' }, env: {}, fileText: file })).control.allowed_hosts).toEqual(['cordon.internal']);
    const env = await loadConfig({ flags: {}, env: { CORDON_UPSTREAM: 'http://u', CORDON_CONTROL_ALLOWED_HOSTS: 'a.example, b.example:9090' } });
    expect(env.control.allowed_hosts).toEqual(['a.example', 'b.example:9090']);
    const flag = await loadConfig({ flags: { controlAllowedHosts: 'c.example' }, env: { CORDON_UPSTREAM: 'http://u', CORDON_CONTROL_ALLOWED_HOSTS: 'a.example' } });
    expect(flag.control.allowed_hosts).toEqual(['c.example']);
    expect((await loadConfig({ flags: {}, env: { CORDON_UPSTREAM: 'http://u' } })).control.allowed_hosts).toEqual([]);
  });
});
