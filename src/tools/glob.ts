// Tool-name globs: `*` any run of characters, `?` one character, `[abc]` / `[a-z]` / `[!x]` a class,
// `\` escapes the next character. A list compiles once into a matcher whose common shapes need no
// regex: exact names go to a Set, `prefix*` patterns to Sets by prefix length (a name is checked
// once per distinct length, which are few), and only the rest to one combined RegExp.

export class GlobError extends Error {}

export interface GlobSet {
  readonly size: number;
  test(name: string): boolean;
}

const META = /[*?[\\]/;

/** Checks one glob and returns its regex source; throws GlobError naming what is wrong. */
export function globSource(glob: string): string {
  if (glob.length === 0) throw new GlobError('a glob must not be empty');
  if (glob.length > 256) throw new GlobError('a glob must be at most 256 characters');
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      // runs of * are one *
      while (glob[i + 1] === '*') i++;
      out += '[^]*';
    } else if (c === '?') {
      out += '[^]';
    } else if (c === '\\') {
      if (i + 1 === glob.length) throw new GlobError(`"${glob}": a trailing \\ escapes nothing`);
      out += escapeChar(glob[++i]);
    } else if (c === '[') {
      const close = classEnd(glob, i);
      if (close < 0) throw new GlobError(`"${glob}": [ at ${i + 1} is never closed`);
      let body = glob.slice(i + 1, close);
      let negate = false;
      if (body[0] === '!' || body[0] === '^') { negate = true; body = body.slice(1); }
      if (body.length === 0) throw new GlobError(`"${glob}": empty character class at ${i + 1}`);
      for (let k = 0; k < body.length; k++) {
        if (body[k] === '-' && k > 0 && k < body.length - 1 && body[k - 1] > body[k + 1]) {
          throw new GlobError(`"${glob}": range ${body[k - 1]}-${body[k + 1]} is reversed`);
        }
      }
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else if (c === ']') {
      throw new GlobError(`"${glob}": ] at ${i + 1} closes nothing`);
    } else {
      out += escapeChar(c);
    }
  }
  return out;
}

function classEnd(glob: string, open: number): number {
  // a ] right after [ or [! is a literal member, as in fnmatch
  let j = open + 1;
  if (glob[j] === '!' || glob[j] === '^') j++;
  if (glob[j] === ']') j++;
  for (; j < glob.length; j++) if (glob[j] === ']') return j;
  return -1;
}

function escapeChar(c: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(c) ? `\\${c}` : c;
}

/** Compiles a list of globs; throws GlobError with the index of the first bad one. */
export function compileGlobs(globs: readonly string[]): GlobSet {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const sources: string[] = [];
  let any = false;
  globs.forEach((g, i) => {
    let src: string;
    try {
      src = globSource(g);
    } catch (err) {
      throw new GlobError(`[${i}]: ${(err as Error).message}`);
    }
    if (!META.test(g)) exact.add(g);
    else if (/^[^*?[\\]*\*+$/.test(g)) {
      const p = g.replace(/\*+$/, '');
      if (p.length === 0) any = true;
      else prefixes.push(p);
    } else sources.push(src);
  });
  const byLength = new Map<number, Set<string>>();
  for (const p of prefixes) {
    let set = byLength.get(p.length);
    if (set === undefined) byLength.set(p.length, (set = new Set()));
    set.add(p);
  }
  const lengths = [...byLength.keys()].sort((a, b) => a - b);
  return new CompiledGlobs(globs.length, any, exact, Int32Array.from(lengths), lengths.map((l) => byLength.get(l)!),
    sources.length === 0 ? null : new RegExp(`^(?:${sources.join('|')})$`));
}

class CompiledGlobs implements GlobSet {
  constructor(
    readonly size: number,
    private readonly any: boolean,
    private readonly exact: ReadonlySet<string>,
    /** distinct prefix lengths, ascending, and the prefixes of each length */
    private readonly lengths: Int32Array,
    private readonly prefixes: ReadonlyArray<ReadonlySet<string>>,
    private readonly re: RegExp | null,
  ) {}

  test(name: string): boolean {
    if (this.any || this.exact.has(name)) return true;
    const ls = this.lengths;
    for (let i = 0; i < ls.length && ls[i] <= name.length; i++) {
      if (this.prefixes[i].has(name.slice(0, ls[i]))) return true;
    }
    return this.re !== null && this.re.test(name);
  }
}
