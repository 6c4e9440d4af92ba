import { describe, expect, it } from 'vitest';
import { derivedSessionId, fnv1a64Hex, identify, sessionIdFromJson, validSessionId } from '../../src/sessions/identity.js';

describe('validSessionId', () => {
  it('accepts 1-128 chars of [A-Za-z0-9._:-]', () => {
    expect(validSessionId('a')).toBe(true);
    expect(validSessionId('agent-7.run:3_x')).toBe(true);
    expect(validSessionId('x'.repeat(128))).toBe(true);
  });
  it('rejects empty, over-long, bad characters and non-strings', () => {
    expect(validSessionId('')).toBe(false);
    expect(validSessionId('x'.repeat(129))).toBe(false);
    for (const bad of ['a b', 'a/b', 'é', 'a\n', 'a%20', '<x>', 'a\u0000']) expect(validSessionId(bad)).toBe(false);
    expect(validSessionId(42)).toBe(false);
    expect(validSessionId(undefined)).toBe(false);
  });
  it('rejects IDs made only of dots (URL dot segments), not IDs with a dot among other characters', () => {
    for (const dots of ['.', '..', '...', '.'.repeat(128)]) expect(validSessionId(dots), dots).toBe(false);
    for (const ok of ['.a', 'a.', '._', '-', ':', '.'.repeat(127) + 'x']) expect(validSessionId(ok), ok).toBe(true);
    expect(sessionIdFromJson({ user: '..', metadata: { user_id: 'm-1' } })).toBe('m-1');
  });
});

describe('sessionIdFromJson', () => {
  it('reads OpenAI user and Anthropic metadata.user_id', () => {
    expect(sessionIdFromJson({ model: 'm', user: 'u-1' })).toBe('u-1');
    expect(sessionIdFromJson({ metadata: { user_id: 'anth-2' } })).toBe('anth-2');
    expect(sessionIdFromJson({ user: 'a', metadata: { user_id: 'b' } })).toBe('a');
  });
  it('turns a body ID that is not a valid ID into the stable u-<hash>, never the derived ID', () => {
    const mail = sessionIdFromJson({ user: 'someone@example.com', metadata: { user_id: 'anth-1' } });
    expect(mail).toMatch(/^u-[0-9a-f]{32}$/);
    expect(sessionIdFromJson({ user: 'someone@example.com' })).toBe(mail);
    // Claude Code's metadata.user_id: longer than 128 characters
    const long = `user_${'ab12'.repeat(16)}_account_${'0'.repeat(36)}_session_${'f'.repeat(36)}`;
    expect(long.length).toBeGreaterThan(128);
    const a = sessionIdFromJson({ user: '', metadata: { user_id: long } });
    expect(a).toMatch(/^u-[0-9a-f]{32}$/);
    expect(validSessionId(a)).toBe(true);
    expect(sessionIdFromJson({ metadata: { user_id: long } })).toBe(a);
    // two agents' long IDs that differ in one character stay apart
    expect(sessionIdFromJson({ metadata: { user_id: long.slice(0, -1) + 'e' } })).not.toBe(a);
    // non-ASCII IDs differ by their full code points, not only the low bytes
    expect(sessionIdFromJson({ user: 'агент' })).not.toBe(sessionIdFromJson({ user: 'а0ент' }));
  });
  it('ignores non-strings and non-objects', () => {
    expect(sessionIdFromJson({ user: 5 })).toBeUndefined();
    expect(sessionIdFromJson({ metadata: 'x' })).toBeUndefined();
    expect(sessionIdFromJson({ metadata: { user_id: null } })).toBeUndefined();
    expect(sessionIdFromJson(null)).toBeUndefined();
    expect(sessionIdFromJson('user')).toBeUndefined();
    expect(sessionIdFromJson([{ user: 'x' }])).toBeUndefined();
  });
});

describe('derivedSessionId', () => {
  it('is FNV-1a 64 (known vectors)', () => {
    expect(fnv1a64Hex('')).toBe('cbf29ce484222325');
    expect(fnv1a64Hex('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64Hex('foobar')).toBe('85944171f73967e8');
  });
  it('is client-<16 hex>, stable within the hour, different across hours, IPs and agents', () => {
    const t = Date.UTC(2026, 0, 1, 10, 5);
    const a = derivedSessionId('10.0.0.1', 'sdk/1', t);
    expect(a).toMatch(/^client-[0-9a-f]{16}$/);
    expect(validSessionId(a)).toBe(true);
    expect(derivedSessionId('10.0.0.1', 'sdk/1', t + 50 * 60_000)).toBe(a);
    expect(derivedSessionId('10.0.0.1', 'sdk/1', t + 60 * 60_000)).not.toBe(a);
    expect(derivedSessionId('10.0.0.2', 'sdk/1', t)).not.toBe(a);
    expect(derivedSessionId('10.0.0.1', 'sdk/2', t)).not.toBe(a);
    // the separator keeps field boundaries apart
    expect(derivedSessionId('1', '23', t)).not.toBe(derivedSessionId('12', '3', t));
    // non-latin1 user agents hash too
    expect(derivedSessionId('::1', 'агент', t)).toMatch(/^client-[0-9a-f]{16}$/);
  });
});

describe('identify', () => {
  const t = 1_800_000_000_000;
  it('prefers the header, then the body, then derives', () => {
    expect(identify('h-1', { user: 'b-1' }, '1.2.3.4', 'ua', t)).toEqual({ ok: true, id: 'h-1', source: 'header' });
    expect(identify(undefined, { user: 'b-1' }, '1.2.3.4', 'ua', t)).toEqual({ ok: true, id: 'b-1', source: 'body' });
    expect(identify(undefined, undefined, '1.2.3.4', 'ua', t)).toEqual({ ok: true, id: derivedSessionId('1.2.3.4', 'ua', t), source: 'derived' });
  });
  it('rejects a malformed or repeated header', () => {
    for (const h of ['', 'a b', 'x'.repeat(129)]) expect(identify(h, undefined, '', '', t).ok).toBe(false);
    expect(identify(['a', 'b'], undefined, '', '', t).ok).toBe(false);
  });
  it('gives a body user that is not a valid ID its u-<hash>, not the derived ID', () => {
    const r = identify(undefined, { user: 'someone@example.com' }, '1.2.3.4', 'ua', t);
    expect(r).toMatchObject({ ok: true, source: 'body' });
    expect(r.ok && r.id).toMatch(/^u-[0-9a-f]{32}$/);
  });
});

describe('identifyScanned', () => {
  it('applies the same order to a scanned body ID', async () => {
    const { identifyScanned } = await import('../../src/sessions/identity.js');
    const t = 1_800_000_000_000;
    expect(identifyScanned('h', 'b', '', '', t)).toMatchObject({ id: 'h', source: 'header' });
    expect(identifyScanned(undefined, 'b', '', '', t)).toMatchObject({ id: 'b', source: 'body' });
    expect(identifyScanned(undefined, undefined, '1.1.1.1', 'ua', t)).toMatchObject({ id: derivedSessionId('1.1.1.1', 'ua', t), source: 'derived' });
    expect(identifyScanned('bad id', 'b', '', '', t).ok).toBe(false);
  });
});
