// Literal atoms of a regex: strings at least one of which every match must contain. The
// Aho-Corasick prefilter looks for atoms; only a hit runs the real regex (RE2) on a window.
// A pattern whose atoms are too short or absent goes to the RE2.Set fallback instead.
import regjsparser, { type AstNode, type RootNode } from 'regjsparser';

// regjsparser is CommonJS: its functions come through the default export under ESM.
const { parse } = regjsparser;

/** Atoms are ASCII, lowercased: the automaton folds ASCII case and RE2 confirms exact case. */
export interface PatternInfo {
  /** null: no usable atom (RE2.Set handles the pattern) */
  atoms: string[] | null;
  /** longest match in UTF-16 units, Infinity when unbounded */
  maxLen: number;
}

const MIN_ATOM = 3;
const MAX_SET = 64;
const MAX_ATOM_LEN = 32;

interface Info {
  /** every string the node can match, when that set is small and ASCII */
  exact: string[] | null;
  /** a set of strings one of which every match contains */
  req: string[] | null;
  maxLen: number;
}

const ZERO: Info = { exact: [''], req: null, maxLen: 0 };
const ANY: Info = { exact: null, req: null, maxLen: 2 };

/** Strips leading inline flags `(?i)`, `(?is)`; RE2 reads them, the JS parser does not. */
export function splitInlineFlags(pattern: string): { body: string; flags: string } {
  const m = /^\(\?([imsU]+)\)/.exec(pattern);
  return m ? { body: pattern.slice(m[0].length), flags: m[1] } : { body: pattern, flags: '' };
}

// Escapes the non-unicode JS parser reads the same way RE2 does; others (\z, \A, \pL) it misreads.
const SAFE_ESCAPES = /\\[^bBdDwWsSnrtfvxuc0-9\W]/;

function parseJs(body: string): RootNode | null {
  const features = { unicodePropertyEscape: true, namedGroups: true, modifiers: true, lookbehind: true } as const;
  try {
    return parse(body, 'u', features) as RootNode;
  } catch {
    if (SAFE_ESCAPES.test(body)) return null;
    try {
      return parse(body, '', features) as RootNode;
    } catch {
      return null;
    }
  }
}

export function analyzePattern(pattern: string): PatternInfo {
  const { body } = splitInlineFlags(pattern);
  const ast = parseJs(body);
  if (!ast) return { atoms: null, maxLen: Infinity };
  const info = walk(ast as AstNode);
  const best = pick(info);
  return { atoms: best && score(best) >= MIN_ATOM ? best : null, maxLen: info.maxLen };
}

function score(set: string[]): number {
  let min = Infinity;
  for (const s of set) if (s.length < min) min = s.length;
  return min;
}

/** The better of two candidate atom sets: longer shortest atom first, then fewer atoms. */
function better(a: string[] | null, b: string[] | null): string[] | null {
  if (!a || a.length === 0) return b;
  if (!b || b.length === 0) return a;
  const sa = Math.min(score(a), 8);
  const sb = Math.min(score(b), 8);
  if (sa !== sb) return sa > sb ? a : b;
  return a.length <= b.length ? a : b;
}

function pick(info: Info): string[] | null {
  const ex = info.exact && info.exact.every((s) => s.length > 0) ? info.exact : null;
  return better(ex, info.req);
}

function lowerCode(cp: number): string {
  return String.fromCharCode(cp >= 65 && cp <= 90 ? cp + 32 : cp);
}

function cross(a: string[], b: string[]): string[] | null {
  if (a.length * b.length > MAX_SET) return null;
  const out = new Set<string>();
  for (const x of a) for (const y of b) {
    if (x.length + y.length > MAX_ATOM_LEN) return null;
    out.add(x + y);
  }
  return [...out];
}

function seq(nodes: AstNode[]): Info {
  let exact: string[] | null = [''];
  let run: string[] = [''];
  let best: string[] | null = null;
  let maxLen = 0;
  for (const n of nodes) {
    const i = walk(n);
    maxLen += i.maxLen;
    best = better(best, i.req);
    if (i.exact) {
      const next = cross(run, i.exact);
      if (next) {
        run = next;
      } else {
        best = better(best, run.every((s) => s.length > 0) ? run : null);
        run = i.exact;
      }
      exact = exact ? cross(exact, i.exact) : null;
    } else {
      best = better(best, run.every((s) => s.length > 0) ? run : null);
      run = [''];
      exact = null;
    }
  }
  best = better(best, run.every((s) => s.length > 0) ? run : null);
  return { exact, req: best, maxLen };
}

function classSet(node: Extract<AstNode, { type: 'characterClass' }>): string[] | null {
  if (node.negative) return null;
  const out = new Set<string>();
  for (const item of node.body) {
    if (item.type === 'value') {
      if (item.codePoint > 127) return null;
      out.add(lowerCode(item.codePoint));
    } else if (item.type === 'characterClassRange') {
      const lo = item.min.codePoint;
      const hi = item.max.codePoint;
      if (hi > 127 || hi - lo > 8) return null;
      for (let c = lo; c <= hi; c++) out.add(lowerCode(c));
    } else {
      return null;
    }
    if (out.size > 8) return null;
  }
  return out.size > 0 ? [...out] : null;
}

function walk(node: AstNode): Info {
  switch (node.type) {
    case 'value':
      if (node.codePoint > 127) return { exact: null, req: null, maxLen: node.codePoint > 0xffff ? 2 : 1 };
      return { exact: [lowerCode(node.codePoint)], req: null, maxLen: 1 };
    case 'anchor':
      return ZERO;
    case 'characterClass': {
      const set = classSet(node);
      return { exact: set, req: null, maxLen: 2 };
    }
    case 'characterClassEscape':
    case 'dot':
      return ANY;
    case 'alternative':
      return seq(node.body as AstNode[]);
    case 'group':
      if (node.behavior !== 'normal' && node.behavior !== 'ignore') return ZERO;
      return seq(node.body as AstNode[]);
    case 'disjunction': {
      const parts = (node.body as AstNode[]).map(walk);
      const maxLen = Math.max(...parts.map((p) => p.maxLen));
      let exact: string[] | null = [];
      let req: string[] | null = [];
      for (const p of parts) {
        if (exact && p.exact && exact.length + p.exact.length <= MAX_SET) exact.push(...p.exact);
        else exact = null;
        const b = pick(p);
        if (req && b && req.length + b.length <= MAX_SET) req.push(...b);
        else req = null;
      }
      return { exact: exact ? [...new Set(exact)] : null, req: req ? [...new Set(req)] : null, maxLen };
    }
    case 'quantifier': {
      const inner = walk(node.body[0] as AstNode);
      const max = node.max === undefined ? Infinity : node.max;
      const maxLen = inner.maxLen === 0 ? 0 : inner.maxLen * max;
      if (node.min === 0) return { exact: null, req: null, maxLen };
      if (node.min === max && inner.exact && max <= 8) {
        let ex: string[] | null = [''];
        for (let k = 0; k < max && ex; k++) ex = cross(ex, inner.exact);
        if (ex) return { exact: ex, req: inner.req, maxLen };
      }
      return { exact: null, req: pick(inner), maxLen };
    }
    case 'reference':
      return ANY;
    default:
      return ANY;
  }
}

// ---- first characters ------------------------------------------------------------------------
// The ASCII characters a match can begin with. The RE2.Set holds patterns without atoms; when no
// character of a text can begin a match of any of them, the Set need not run on that text (a
// chat reply without a digit cannot hold a card number). Unknown or non-ASCII: null (always run).

interface First {
  /** null: any character */
  set: Uint8Array | null;
  /** the node can match the empty string, so what follows it can begin the match too */
  nullable: boolean;
}

const EMPTY: First = { set: new Uint8Array(128), nullable: true };
const ANY_FIRST: First = { set: null, nullable: false };

function union(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  if (!a || !b) return null;
  const out = new Uint8Array(128);
  for (let i = 0; i < 128; i++) out[i] = a[i] | b[i];
  return out;
}

function range(set: Uint8Array, lo: number, hi: number): void {
  for (let c = lo; c <= hi; c++) set[c] = 1;
}

/** \d and \w (ASCII in RE2 and in the non-unicode JS reading); anything else: null. */
function escapeSet(value: string): Uint8Array | null {
  const s = new Uint8Array(128);
  if (value === 'd') range(s, 48, 57);
  else if (value === 'w') { range(s, 48, 57); range(s, 65, 90); range(s, 97, 122); s[95] = 1; }
  else return null;
  return s;
}

function firstOf(node: AstNode): First {
  switch (node.type) {
    case 'value': {
      if (node.codePoint > 127) return ANY_FIRST;
      const s = new Uint8Array(128);
      s[node.codePoint] = 1;
      return { set: s, nullable: false };
    }
    case 'anchor':
      return EMPTY;
    case 'characterClass': {
      if (node.negative) return ANY_FIRST;
      let s: Uint8Array | null = new Uint8Array(128);
      for (const item of node.body) {
        if (item.type === 'value') {
          if (item.codePoint > 127) return ANY_FIRST;
          s[item.codePoint] = 1;
        } else if (item.type === 'characterClassRange') {
          if (item.max.codePoint > 127) return ANY_FIRST;
          range(s, item.min.codePoint, item.max.codePoint);
        } else if (item.type === 'characterClassEscape') {
          s = union(s, escapeSet(item.value));
          if (!s) return ANY_FIRST;
        } else {
          return ANY_FIRST;
        }
      }
      return { set: s, nullable: false };
    }
    case 'characterClassEscape': {
      const s = escapeSet(node.value);
      return s ? { set: s, nullable: false } : ANY_FIRST;
    }
    case 'alternative':
      return firstSeq(node.body as AstNode[]);
    case 'group':
      // lookaround never reaches RE2 (refused at load); a capture or plain group is its body
      if (node.behavior !== 'normal' && node.behavior !== 'ignore') return ANY_FIRST;
      // (?i:...) and other modifier groups change what a character matches
      if (('modifierFlags' in node && node.modifierFlags) || ('modifiers' in node && node.modifiers)) return ANY_FIRST;
      return firstSeq(node.body as AstNode[]);
    case 'disjunction': {
      let set: Uint8Array | null = new Uint8Array(128);
      let nullable = false;
      for (const b of node.body as AstNode[]) {
        const f = firstOf(b);
        set = union(set, f.set);
        nullable ||= f.nullable;
      }
      return { set, nullable };
    }
    case 'quantifier': {
      const f = firstOf(node.body[0] as AstNode);
      return { set: f.set, nullable: f.nullable || node.min === 0 };
    }
    default:
      return ANY_FIRST;
  }
}

function firstSeq(nodes: AstNode[]): First {
  let set: Uint8Array | null = new Uint8Array(128);
  for (const n of nodes) {
    const f = firstOf(n);
    set = union(set, f.set);
    if (!set) return ANY_FIRST;
    if (!f.nullable) return { set, nullable: false };
  }
  return { set, nullable: true };
}

/**
 * ASCII characters (a 128-entry table) that can begin a match of the pattern, or null when a
 * match can begin with any character, a non-ASCII one, or the empty string, or the pattern is
 * not understood. `ignoreCase` folds letters.
 */
export function firstChars(pattern: string, ignoreCase: boolean): Uint8Array | null {
  const { body, flags } = splitInlineFlags(pattern);
  // only the non-unicode reading: its \d and \w are ASCII, as RE2's are
  if (SAFE_ESCAPES.test(body)) return null;
  let ast: RootNode;
  try {
    ast = parse(body, '', { namedGroups: true, modifiers: true, lookbehind: true }) as RootNode;
  } catch {
    return null;
  }
  const f = firstOf(ast as AstNode);
  if (!f.set || f.nullable) return null;
  if (ignoreCase || flags.includes('i')) {
    // RE2 folds k to the Kelvin sign and s to the long s: non-ASCII characters could begin a match
    if (f.set[107] | f.set[75] | f.set[115] | f.set[83]) return null;
    for (let c = 65; c <= 90; c++) if (f.set[c] | f.set[c + 32]) f.set[c] = f.set[c + 32] = 1;
  }
  return f.set;
}
