// Redaction of a held whole answer (policy/redact.ts): only the strings holding a match change,
// the rest of the body keeps its bytes, and a match the strings cannot show leads to a refusal.
import { describe, expect, it } from 'vitest';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import { createPolicyEngine } from '../../src/policy/index.js';

const KEY = 'AKIA' + 'IOSFODNN7EXAMPLE';
const engine = createPolicyEngine({ preset: 'standard', rules: [], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
const AWS = new Set(['secret.aws-access-key']);

describe('redactAnswer', () => {
  it('standard acts on answers (secrets are redacted): whole answers are held', () => {
    expect(engine.actsOnResponses).toBe(true);
    const flagOnly = createPolicyEngine({ preset: 'off', rules: [{ name: 'f', target: 'response', literals: ['x'], severity: 'low', action: 'flag' }], bounds: PROFILE_BOUNDS.standard, mode: 'enforce' });
    expect(flagOnly.hasResponseRules).toBe(true);
    expect(flagOnly.actsOnResponses).toBe(false);
  });

  it('rewrites only the string that holds the match; numbers, order and spacing stay', () => {
    const body = `{ "id": 12345678901234567890, "content" : "key=${KEY} \\u00e9\\n", "other":"${KEY}x" ,"n":1.50}`;
    const out = engine.redactAnswer(Buffer.from(body), 'application/json', AWS);
    expect(out).not.toBeNull();
    const s = out!.toString('utf8');
    expect(s).toBe('{ "id": 12345678901234567890, "content" : "key=[REDACTED:secret.aws-access-key] é\\n", "other":"[REDACTED:secret.aws-access-key]x" ,"n":1.50}');
    expect(JSON.parse(s).content).toBe('key=[REDACTED:secret.aws-access-key] é\n');
  });

  it('finds a key written with JSON escapes, and one inside tool-call arguments', () => {
    const escaped = `{"content":"AKIA\\u0049OSFODNN7EXAMPLE"}`;
    expect(engine.redactAnswer(Buffer.from(escaped), 'application/json', AWS)!.toString()).toBe('{"content":"[REDACTED:secret.aws-access-key]"}');
    const args = JSON.stringify({ tool_calls: [{ function: { arguments: JSON.stringify({ key: KEY }) } }] });
    const out = engine.redactAnswer(Buffer.from(args), 'application/json', AWS)!.toString();
    expect(out).not.toContain(KEY);
    expect(JSON.parse(JSON.parse(out).tool_calls[0].function.arguments)).toEqual({ key: '[REDACTED:secret.aws-access-key]' });
  });

  it('redacts a whole private key block, not only its BEGIN line', () => {
    const pk = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234+/abc=\nQWERTY\n-----END RSA PRIVATE KEY-----';
    const out = engine.redactAnswer(Buffer.from(JSON.stringify({ content: `here: ${pk} done` })), 'application/json', new Set(['secret.private-key']));
    expect(JSON.parse(out!.toString()).content).toBe('here: [REDACTED:secret.private-key] done');
  });

  it('redacts plain-text answers as text', () => {
    expect(engine.redactAnswer(Buffer.from(`a ${KEY} b`), 'text/plain', AWS)!.toString()).toBe('a [REDACTED:secret.aws-access-key] b');
  });
});
