// What a streamed answer must hold back, derived from the compiled rules. A response rule that
// refuses or rewrites (redact, block, terminate) is "held" when every match of it begins with one
// of a few literal prefixes (`AKIA`, `sk-`, `-----BEGIN `) and is made only of characters of a
// known set: then text that may still become a match is recognisable at once (a suffix that
// begins a prefix, or a started match still in the set and within the rule's length) and all
// other text can go out untouched. Rules that cannot be bounded so are left to the scanner
// (block at the match). Built once per compiled policy and shared by every stream.
import type RE2 from 're2';
import regjsparser, { type AstNode, type RootNode } from 'regjsparser';
import { AhoCorasick } from './aho.js';
import { analyzePattern, splitInlineFlags } from './atoms.js';
import { RESP_TEXT } from './channels.js';
import type { CompiledPolicy } from './compile.js';

const { parse } = regjsparser;

/** longest stretch of text one candidate may hold; a longer (unbounded) match is cut here and the rest of its run swallowed */
export const HOLD_CAP = 256;
const MIN_PREFIX = 2;
const MAX_PREFIXES = 64;

export interface HoldPattern {
  readonly rule: number;
  readonly name: string;
  readonly action: string;
  readonly re: RE2;
  readonly edge: boolean;
  /** ASCII characters a match may contain (1), and whether non-ASCII ones may occur */
  readonly body: Uint8Array;
  readonly high: boolean;
  /** longest match held (min(maxLen, HOLD_CAP)) and whether the real maximum is longer */
  readonly cap: number;
  readonly swallow: boolean;
}

export interface HoldSpec {
  readonly patterns: readonly HoldPattern[];
  /** prefixes → automaton; prefix id → hold pattern ids */
  readonly ac: AhoCorasick;
  readonly prefixPats: readonly number[][];
  /** by rule index: 1 when the rule is held here (the scanner skips it) */
  readonly held: Uint8Array;
  /**
   * by automaton state id: 1 when every prefix through that state belongs to patterns that begin
   * with `\b`, so a candidate there after a word character cannot match ("was" does not begin `sk-`)
   */
  readonly wordStart: Uint8Array;
  /** by prefix id: the same for one whole prefix */
  readonly prefixWord: Uint8Array;
}

const cache = new WeakMap<CompiledPolicy, HoldSpec | null>();

/** The hold spec of a policy (null when no response rule can be held), built on first use. */
export function holdSpec(policy: CompiledPolicy): HoldSpec | null {
  let spec = cache.get(policy);
  if (spec === undefined) {
    spec = buildSpec(policy);
    cache.set(policy, spec);
  }
  return spec;
}

function buildSpec(policy: CompiledPolicy): HoldSpec | null {
  const patterns: HoldPattern[] = [];
  const prefixIds = new Map<string, number>();
  const prefixPats: number[][] = [];
  const held = new Uint8Array(policy.rules.length);
  const prefixWordStart = new Map<string, boolean>();
  for (const rule of policy.rules) {
    const act: string = rule.action;
    if ((rule.mask & RESP_TEXT) === 0 || rule.metric !== null || (act !== 'redact' && act !== 'block' && act !== 'terminate')) continue;
    const pats = policy.patterns.filter((p) => p.rule === rule.index);
    const derived = pats.map((p) => (p.validate === null ? derive(p.source, p.re.ignoreCase) : null));
    if (pats.length === 0 || derived.some((d) => d === null)) continue;
    held[rule.index] = 1;
    pats.forEach((p, k) => {
      const d = derived[k]!;
      const id = patterns.length;
      patterns.push({ rule: rule.index, name: rule.name, action: act, re: p.re, edge: p.edge, body: d.body, high: d.high,
        cap: Math.min(d.maxLen, HOLD_CAP), swallow: d.maxLen > HOLD_CAP });
      for (const pre of d.prefixes) {
        prefixWordStart.set(pre, (prefixWordStart.get(pre) ?? true) && d.wordStart);
        let pid = prefixIds.get(pre);
        if (pid === undefined) { pid = prefixPats.length; prefixIds.set(pre, pid); prefixPats.push([]); }
        if (!prefixPats[pid].includes(id)) prefixPats[pid].push(id);
      }
    });
  }
  if (patterns.length === 0) return null;
  const prefixes = [...prefixIds.keys()];
  const ac = new AhoCorasick(prefixes);
  // a trie node's id is its state: walking a prefix's first k characters from the root reaches it
  const wordStart = new Uint8Array(ac.states).fill(1);
  const sink = { onAtom(): void { /* only the states matter */ } };
  for (const pre of prefixes) {
    if (prefixWordStart.get(pre)) continue;
    for (let k = 1; k <= pre.length; k++) wordStart[ac.scan(pre, 0, k, 0, sink) / ac.classes] = 0;
  }
  const prefixWord = Uint8Array.from(prefixes, (pre) => (prefixWordStart.get(pre) ? 1 : 0));
  return { patterns, ac, prefixPats, held, wordStart, prefixWord };
}

interface Derived { prefixes: string[]; body: Uint8Array; high: boolean; maxLen: number; wordStart: boolean }

/** Prefixes, character set and length of a pattern, or null when one of them cannot be bounded. */
export function derive(source: string, ignoreCase: boolean): Derived | null {
  const { body: src, flags } = splitInlineFlags(source);
  let ast: RootNode;
  try {
    ast = parse(src, '', { namedGroups: true, modifiers: true }) as RootNode;
  } catch {
    return null;
  }
  const prefixes = prefixOf(ast as AstNode);
  if (prefixes === null || prefixes.length === 0 || prefixes.some((p) => p.length < MIN_PREFIX)) return null;
  const set: CharSet = { body: new Uint8Array(128), high: false };
  if (!bodyOf(ast as AstNode, set)) return null;
  if (ignoreCase || flags.includes('i')) {
    for (let c = 65; c <= 90; c++) if (set.body[c] | set.body[c + 32]) set.body[c] = set.body[c + 32] = 1;
    // RE2 folds k and s to the Kelvin sign and the long s
    if (set.body[107] | set.body[115]) set.high = true;
  }
  const maxLen = analyzePattern(source).maxLen;
  // an unbounded match whose characters include spaces could swallow a whole answer: not held
  if (maxLen > HOLD_CAP && (set.body[32] | set.body[10])) return null;
  const first = ast.type === 'alternative' ? (ast.body as AstNode[])[0] : null;
  const wordStart = first !== null && first !== undefined && first.type === 'anchor' && first.kind === 'boundary';
  return { prefixes, body: set.body, high: set.high, maxLen, wordStart };
}

// ---- prefixes: strings one of which every match begins with --------------------------------------

function lower(cp: number): string {
  return String.fromCharCode(cp >= 65 && cp <= 90 ? cp + 32 : cp);
}

function cross(a: string[], b: string[]): string[] | null {
  if (a.length * b.length > MAX_PREFIXES) return null;
  const out = new Set<string>();
  for (const x of a) for (const y of b) out.add(x + y);
  return [...out];
}

/** Every string the node matches, when that is a small set of ASCII strings. */
function exactOf(node: AstNode): string[] | null {
  switch (node.type) {
    case 'value':
      return node.codePoint < 128 ? [lower(node.codePoint)] : null;
    case 'characterClass': {
      if (node.negative) return null;
      const out = new Set<string>();
      for (const item of node.body) {
        if (item.type === 'value' && item.codePoint < 128) out.add(lower(item.codePoint));
        else if (item.type === 'characterClassRange' && item.max.codePoint < 128 && item.max.codePoint - item.min.codePoint < 8) {
          for (let c = item.min.codePoint; c <= item.max.codePoint; c++) out.add(lower(c));
        } else return null;
      }
      return out.size > 0 && out.size <= 8 ? [...out] : null;
    }
    case 'alternative':
    case 'group': {
      if (node.type === 'group' && node.behavior !== 'normal' && node.behavior !== 'ignore') return null;
      let run: string[] | null = [''];
      for (const n of node.body as AstNode[]) {
        if (n.type === 'anchor') return null;
        const e = exactOf(n);
        run = e && run ? cross(run, e) : null;
        if (!run) return null;
      }
      return run;
    }
    case 'disjunction': {
      const out: string[] = [];
      for (const b of node.body as AstNode[]) {
        const e = exactOf(b);
        if (!e || out.length + e.length > MAX_PREFIXES) return null;
        out.push(...e);
      }
      return [...new Set(out)];
    }
    case 'quantifier': {
      const e = exactOf(node.body[0] as AstNode);
      if (!e || node.max !== node.min || node.min > 8) return null;
      let run: string[] | null = [''];
      for (let k = 0; k < node.min && run; k++) run = cross(run, e);
      return run;
    }
    default:
      return null;
  }
}

/** Strings one of which every match of the node begins with ('' = nothing known). */
function prefixOf(node: AstNode): string[] | null {
  const ex = exactOf(node);
  if (ex) return ex;
  switch (node.type) {
    case 'alternative':
      return prefixSeq(node.body as AstNode[]);
    case 'group':
      if (node.behavior !== 'normal' && node.behavior !== 'ignore') return null;
      return prefixSeq(node.body as AstNode[]);
    case 'disjunction': {
      const out: string[] = [];
      for (const b of node.body as AstNode[]) {
        const p = prefixOf(b);
        if (!p || out.length + p.length > MAX_PREFIXES) return null;
        out.push(...p);
      }
      return [...new Set(out)];
    }
    case 'quantifier':
      return node.min >= 1 ? prefixOf(node.body[0] as AstNode) : [''];
    default:
      return [''];
  }
}

function prefixSeq(nodes: AstNode[]): string[] | null {
  let run: string[] = [''];
  for (const n of nodes) {
    if (n.type === 'anchor') {
      if (run.every((s) => s === '')) continue; // a leading \b or ^ is zero-width
      return run;
    }
    const ex = exactOf(n);
    if (ex) {
      const next = cross(run, ex);
      if (!next) return run;
      run = next;
      continue;
    }
    const p = prefixOf(n);
    if (!p) return null;
    return cross(run, p) ?? run;
  }
  return run;
}

// ---- the characters a match may contain --------------------------------------------------------

interface CharSet { body: Uint8Array; high: boolean }

function mark(set: CharSet, lo: number, hi: number): void {
  if (hi > 127) set.high = true;
  for (let c = lo; c <= Math.min(hi, 127); c++) set.body[c] = 1;
}

function escapeInto(set: CharSet, v: string): boolean {
  if (v === 'd') mark(set, 48, 57);
  else if (v === 'w') { mark(set, 48, 57); mark(set, 65, 90); mark(set, 97, 122); mark(set, 95, 95); }
  else if (v === 's') { mark(set, 9, 13); mark(set, 32, 32); set.high = true; }
  else { mark(set, 0, 0x10ffff); } // \D \W \S: nearly anything
  return true;
}

/** Adds the characters the node can match to `set`; false when not understood. */
function bodyOf(node: AstNode, set: CharSet): boolean {
  switch (node.type) {
    case 'value':
      mark(set, node.codePoint, node.codePoint);
      return true;
    case 'anchor':
      return true;
    case 'dot':
      mark(set, 0, 0x10ffff);
      return true;
    case 'characterClassEscape':
      return escapeInto(set, node.value);
    case 'characterClass':
      if (node.negative) { mark(set, 0, 0x10ffff); return true; }
      for (const item of node.body) {
        if (item.type === 'value') mark(set, item.codePoint, item.codePoint);
        else if (item.type === 'characterClassRange') mark(set, item.min.codePoint, item.max.codePoint);
        else if (item.type === 'characterClassEscape') escapeInto(set, item.value);
        else return false;
      }
      return true;
    case 'alternative':
    case 'group':
    case 'disjunction':
      return (node.body as AstNode[]).every((n) => bodyOf(n, set));
    case 'quantifier':
      return bodyOf(node.body[0] as AstNode, set);
    default:
      return false;
  }
}
