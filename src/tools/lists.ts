// Allow and deny lists of tool names. A tool passes when the allow list is empty or names it, and
// the deny list does not; a key's own lists narrow the global ones further, never widen them.
// Decisions are cached per name (agents send the same few tools on every request), bounded.
import { compileGlobs, GlobError, type GlobSet } from './glob.js';

export interface ToolListConfig {
  allow?: readonly string[];
  deny?: readonly string[];
}

/** Names kept in a decision cache; past it the cache starts over (names are few in practice). */
const CACHE_MAX = 1024;

export class ToolLists {
  private readonly allow: GlobSet | null;
  private readonly deny: GlobSet | null;
  private readonly cache = new Map<string, boolean>();

  private constructor(allow: GlobSet | null, deny: GlobSet | null) {
    this.allow = allow;
    this.deny = deny;
  }

  /** Compiles; a malformed glob throws GlobError as `<where>.allow[i]: ...`. */
  static compile(cfg: ToolListConfig | undefined, where: string): ToolLists | null {
    if (cfg === undefined) return null;
    const allow = compileList(cfg.allow, `${where}.allow`);
    const deny = compileList(cfg.deny, `${where}.deny`);
    if (allow === null && deny === null) return null;
    return new ToolLists(allow, deny);
  }

  permits(name: string): boolean {
    let ok = this.cache.get(name);
    if (ok === undefined) {
      ok = (this.allow === null || this.allow.test(name)) && (this.deny === null || !this.deny.test(name));
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(name, ok);
    }
    return ok;
  }
}

function compileList(globs: readonly string[] | undefined, where: string): GlobSet | null {
  if (globs === undefined || globs.length === 0) return null;
  try {
    return compileGlobs(globs);
  } catch (err) {
    if (err instanceof GlobError) throw new GlobError(`${where}${err.message}`);
    throw err;
  }
}

/** Both the global lists and a key's own: a tool must pass each that is set. */
export function permitted(name: string, global: ToolLists | null, key: ToolLists | null): boolean {
  return (global === null || global.permits(name)) && (key === null || key.permits(name));
}
