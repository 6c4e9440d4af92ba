import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlobs, globSource, GlobError } from '../../src/tools/glob.js';
import { ToolLists } from '../../src/tools/lists.js';

describe('tool-name globs', () => {
  it('matches exact names, prefixes, ? and classes; metacharacters of regexes are literal', () => {
    const g = compileGlobs(['read_file', 'search_*', 'fs.?et', 'db_[a-c]*', 'x[!0-9]', 'a.b+c']);
    for (const yes of ['read_file', 'search_', 'search_web', 'fs.get', 'fs.set', 'db_alpha', 'db_c', 'xa', 'a.b+c']) expect(g.test(yes), yes).toBe(true);
    for (const no of ['read_files', 'research_web', 'fs.gets', 'fsXget', 'db_delta', 'x1', 'aXb+c', 'a.bbc', '']) expect(g.test(no), no).toBe(false);
  });

  it('agrees with a reference matcher on random names and globs (seeded)', () => {
    const seed = 17_2026;
    const ch = fc.constantFrom('a', 'b', '_', '.', '-');
    const globCh = fc.oneof(ch, fc.constant('*'), fc.constant('?'));
    fc.assert(fc.property(fc.array(fc.string({ unit: globCh, minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }), fc.string({ unit: ch, maxLength: 8 }), (globs, name) => {
      const ref = globs.some((gl) => new RegExp(`^${gl.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*+/g, '.*').replace(/\?/g, '.')}$`, 's').test(name));
      expect(compileGlobs(globs).test(name)).toBe(ref);
    }), { seed, numRuns: 500 });
  });

  it('refuses malformed globs with the position', () => {
    for (const bad of ['', 'bad[glob', 'x]', 'tail\\', '[]', '[z-a]']) expect(() => globSource(bad), bad).toThrow(GlobError);
    expect(() => compileGlobs(['ok', 'bad['])).toThrow(/^\[1\]: /);
  });

  it('a key list narrows the global one; deny beats allow', () => {
    const global = ToolLists.compile({ allow: ['search_*', 'read_*'], deny: ['read_secrets'] }, 'policy.tools')!;
    expect(global.permits('search_web')).toBe(true);
    expect(global.permits('read_secrets')).toBe(false);
    expect(global.permits('shell')).toBe(false);
    expect(ToolLists.compile({}, 'x')).toBeNull();
    expect(() => ToolLists.compile({ deny: ['a', '[x'] }, 'policy.tools')).toThrow('policy.tools.deny[1]: ');
  });
});
