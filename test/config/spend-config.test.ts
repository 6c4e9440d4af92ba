import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, validate } from '../../src/config/load.js';
import { operatorCredential } from '../../src/auth/upstream-auth.js';

const HASH = 'a'.repeat(64);
const base = { upstreams: [{ url: 'http://127.0.0.1:1/v1' }] };

function problems(raw: object): string[] {
  try {
    validate(raw as Record<string, unknown>);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('config: keys, teams, budgets, pricing', () => {
  it('takes a full auth/teams/pricing section', () => {
    const cfg = validate({
      ...base,
      auth: { required: true, keys: [{ id: 'research', key_sha256: HASH.toUpperCase(), agent: 'research-bot', team: 'ml', budget: { usd: 25, window: '1d' }, tools: { allow: ['search_*'] } }] },
      teams: { ml: { budget: { tokens: 1_000_000, window: '30d' } } },
      pricing: { 'gpt-4o': { input: 2.5, output: 10 }, 'my-model': { input: 0, output: 0 } },
    });
    expect(cfg.auth.keys[0].key_sha256).toBe(HASH);
    expect(cfg.auth.keys[0].budget).toEqual({ usd: 25, tokens: undefined, window: 86_400_000 });
    expect(cfg.teams.ml.budget?.tokens).toBe(1_000_000);
  });

  it('refuses negative and non-numeric prices, a budget without a window or unit, bad hashes and duplicates', () => {
    const p = problems({
      ...base,
      auth: { keys: [
        { id: 'a', key_sha256: 'abc', agent: 'x' },
        { id: 'a', key_sha256: HASH, agent: 'x', budget: { usd: 5 } },
        { id: 'b', key_sha256: HASH, agent: 'y', budget: { window: '1d' } },
      ] },
      teams: { ml: { budget: { usd: -1, window: '1h' } } },
      pricing: { 'gpt-4o': { input: -2.5, output: 10 }, m2: { input: '2.5', output: 1 }, m3: { input: 1 } },
    });
    const text = p.join('\n');
    expect(text).toContain('auth.keys[0].key_sha256: must be 64 hex digits');
    expect(text).toContain('auth.keys[1].budget.window: a budget needs a window');
    expect(text).toContain('auth.keys[1].id: duplicate key id "a"');
    expect(text).toContain('auth.keys[2].budget: a budget needs exactly one of usd or tokens');
    expect(text).toContain('auth.keys[2].key_sha256: the same key hash is listed twice');
    expect(text).toContain('teams.ml.budget.usd: must be above 0');
    expect(text).toContain('pricing.gpt-4o.input: input must be a number >= 0');
    expect(text).toContain('pricing.m2.input: input must be a number >= 0');
    expect(text).toContain('pricing.m3.output: output must be a number >= 0');
  });

  it('api_key_env: an unset variable is an error at start; the secret is read once and never enumerable', async () => {
    const fileText = 'upstreams:\n  - url: http://127.0.0.1:1/v1\n    api_key_env: CORDON_TEST_PROVIDER_KEY\n    auth_header: x-api-key\n';
    await expect(loadConfig({ flags: { config: 'c.yaml' }, env: {}, fileText }))
      .rejects.toThrow('upstreams[0].api_key_env: CORDON_TEST_PROVIDER_KEY is not set');
    const cfg = await loadConfig({ flags: { config: 'c.yaml' }, env: { CORDON_TEST_PROVIDER_KEY: 'sk-operator' }, fileText });
    expect(JSON.stringify(cfg)).not.toContain('sk-operator');
    expect(operatorCredential(cfg.upstreams[0])).toEqual({ drop: 3, name: 'x-api-key', value: 'sk-operator' });
    const lenient = await loadConfig({ flags: { config: 'c.yaml' }, env: {}, fileText, allowUnsetKeyEnv: true });
    expect(operatorCredential(lenient.upstreams[0])).toBeNull();
  });
});
