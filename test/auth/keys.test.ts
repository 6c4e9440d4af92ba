import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bearerToken, lookupCredential } from '../../src/auth/credential.js';
import { KeyRing, sha256Hex, type KeyRecord } from '../../src/auth/keys.js';

const rec = (id: string, agent: string): KeyRecord => ({ id, agent, team: null, budget: null, tools: null, source: 'config', created_at: 0 });

describe('KeyRing', () => {
  it('finds a key by its sha256, caches it, and forgets it at once when revoked', () => {
    const ring = new KeyRing();
    ring.add(sha256Hex('ck-secret-1'), rec('k1', 'bot'));
    expect(ring.lookup('ck-secret-1')).toMatchObject({ id: 'k1', agent: 'bot' });
    expect(ring.lookup('ck-secret-1')).toMatchObject({ id: 'k1' }); // from the cache
    expect(ring.lookup('ck-other')).toBeUndefined();
    expect(ring.revoke('k1')).toBe(true);
    expect(ring.lookup('ck-secret-1')).toBe('revoked');
    expect(ring.revoke('k1')).toBe(false);
    // a revoked hash cannot come back (a replayed add from the fleet)
    expect(ring.add(sha256Hex('ck-secret-1'), rec('k1', 'bot'))).toBe(false);
    expect(ring.lookup('ck-secret-1')).toBe('revoked');
  });
});

describe('credential headers', () => {
  const ring = new KeyRing();
  ring.add(sha256Hex('ck-good'), rec('k', 'agent-a'));

  it('reads Authorization: Bearer and x-api-key', () => {
    expect(lookupCredential({ authorization: 'Bearer ck-good' }, ring)).toMatchObject({ kind: 'key', header: 'authorization' });
    expect(lookupCredential({ authorization: 'bearer  ck-good ' }, ring)).toMatchObject({ kind: 'key' });
    expect(lookupCredential({ 'x-api-key': 'ck-good' }, ring)).toMatchObject({ kind: 'key', header: 'x-api-key' });
    // an upstream credential beside ours: ours wins whichever header it is in
    expect(lookupCredential({ authorization: 'Bearer sk-provider', 'x-api-key': 'ck-good' }, ring)).toMatchObject({ kind: 'key', header: 'x-api-key' });
    expect(lookupCredential({}, ring)).toEqual({ kind: 'none' });
    expect(lookupCredential({ authorization: 'Bearer nope' }, ring)).toMatchObject({ kind: 'bad', why: 'unknown' });
  });

  it('answers every malformed header as bad, never throws (seeded)', () => {
    for (const v of ['', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'x'.repeat(10_000), 'Bearer ' + 'x'.repeat(600)]) {
      expect(lookupCredential({ authorization: v }, ring).kind).toBe('bad');
    }
    expect(lookupCredential({ 'x-api-key': ['a', 'b'] } as never, ring).kind).toBe('bad');
    fc.assert(fc.property(fc.string({ maxLength: 700 }), fc.string({ maxLength: 700 }), (a, x) => {
      const r = lookupCredential({ authorization: a, 'x-api-key': x }, ring);
      expect(['none', 'bad', 'key']).toContain(r.kind);
      expect(bearerToken(a) === null || typeof bearerToken(a) === 'string').toBe(true);
    }), { seed: 16, numRuns: 2000 });
  });
});
