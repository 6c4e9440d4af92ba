// Turns preset and configured rules into one immutable compiled policy: every pattern checked
// by RE2 (linear time; backreferences and lookaround are refused at load, naming the rule),
// literal atoms into one Aho-Corasick automaton, atom-less patterns into one RE2.Set.
import RE2 from 're2';

type RE2Set = InstanceType<typeof RE2.Set>;
import { ConfigError } from '../config/errors.js';
import type { RuleConfig } from '../config/schema.js';
import type { RuleAction, Severity } from '../events.js';
import { AhoCorasick } from './aho.js';
import { analyzePattern, firstChars, splitInlineFlags } from './atoms.js';
import { targetMask } from './channels.js';

/** A rule as presets write it: a config rule plus checks a YAML rule cannot ask for. */
export type PolicyRule = RuleConfig & {
  /** a regex match must also pass this check (card numbers: Luhn) */
  validate?: 'luhn';
  /** mask the matched text in excerpts (secrets must not land in storage or the dashboard) */
  redact?: boolean;
  /** a detection signal: adds this to the request's anomaly score instead of hitting on its own */
  weight?: number;
};

export type Metric = NonNullable<RuleConfig['metric']>;

export interface CompiledRule {
  readonly index: number;
  readonly name: string;
  readonly target: RuleConfig['target'];
  readonly severity: Severity;
  readonly action: RuleAction;
  readonly source: 'preset' | 'config';
  readonly mask: number;
  readonly redact: boolean;
  readonly metric: Metric | null;
  readonly limit: number;
  /** 0: per session, no window */
  readonly windowMs: number;
  /** mutable counter for GET /control/policy */
  hits: number;
}

export interface CompiledPattern {
  readonly rule: number;
  readonly source: string;
  readonly re: RE2;
  /** characters of context the confirm window takes before an atom's end and after its start */
  readonly window: number;
  readonly validate: 'luhn' | null;
  /**
   * the pattern ends in `\b`, `\B` or `$`: whether it matches at the end of the text seen so far
   * depends on the next character, so such a match waits for one more character
   */
  readonly edge: boolean;
}

export interface CompiledPolicy {
  readonly rules: readonly CompiledRule[];
  readonly patterns: readonly CompiledPattern[];
  readonly metricRules: readonly CompiledRule[];
  readonly ac: AhoCorasick | null;
  /** atom id → pattern ids: atomPat[atomStart[a] .. atomStart[a + 1]) */
  readonly atomStart: Int32Array;
  readonly atomPat: Int32Array;
  readonly set: RE2Set | null;
  /** Set index → pattern id */
  readonly setPat: Int32Array;
  /** longest window a Set pattern needs */
  readonly setWindow: number;
  /** union of the masks of the Set patterns' rules: a context outside it never runs the Set */
  readonly setMask: number;
  /**
   * by context mask (0..15): ASCII characters that can begin a match of a Set pattern aimed at
   * that context, or null when any character can; a text with none of them skips the Set
   */
  readonly setFirst: ReadonlyArray<Uint8Array | null>;
  /** bounded per-stream tail, from the profile */
  readonly tail: number;
  /** union of rule masks, to skip whole directions */
  readonly mask: number;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** Compiles one pattern with RE2; returns the problem text on failure. */
function compileRe(source: string, flags: string): RE2 | string {
  try {
    return new RE2(source, flags);
  } catch (err) {
    const msg = (err as Error).message;
    const hint = /\\[1-9]|\\k</.test(source)
      ? ' (backreferences are not linear-time and are refused)'
      : /\(\?<?[=!]/.test(source)
        ? ' (lookahead/lookbehind is not linear-time and is refused)'
        : '';
    return `does not compile in RE2: ${msg}${hint}`;
  }
}

export interface CompileInput {
  preset: readonly PolicyRule[];
  rules: readonly PolicyRule[];
  /** profile scan_tail_bytes */
  tailBytes: number;
}

export function compilePolicy(input: CompileInput): CompiledPolicy {
  const steps = compileSteps(input);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The same compile for a config reload, off the request path: it gives the event loop back
 * whenever `sliceMs` of work is done, so requests in flight wait at most about one step (one
 * pattern, or the automaton's or the RE2.Set's build), not the whole rule set.
 */
export async function compilePolicySliced(input: CompileInput, sliceMs = SLICE_MS): Promise<CompiledPolicy> {
  const steps = compileSteps(input);
  let t = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - t >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      t = performance.now();
    }
  }
}

/** Work between two looks at the event loop during a sliced compile. */
const SLICE_MS = 2;

/** The compile, one step per yield: each pattern's RE2, each pattern's analysis, each big table. */
function* compileSteps(input: CompileInput): Generator<void, CompiledPolicy, void> {
  const problems: string[] = [];
  const rules: CompiledRule[] = [];
  const patterns: CompiledPattern[] = [];
  const names = new Set<string>();
  const disabled = new Set<number>();
  const half = Math.max(16, Math.floor(input.tailBytes / 2));

  function* add(r: PolicyRule, source: 'preset' | 'config', at: string): Generator<void, void, void> {
    if (names.has(r.name)) {
      if (source === 'config') {
        // A configured rule of the same name replaces the preset's.
        const i = rules.findIndex((x) => x.name === r.name && x.source === 'preset');
        if (i < 0) {
          problems.push(`${at}.name: duplicate rule name "${r.name}"`);
          return;
        }
        disabled.add(i);
      }
    }
    names.add(r.name);
    const index = rules.length;
    const metric = r.metric ?? null;
    rules.push({
      index, name: r.name, target: r.target ?? 'both', severity: r.severity ?? 'medium',
      action: r.action ?? 'flag', source, mask: targetMask(r.target ?? 'both'), redact: r.redact === true,
      metric, limit: r.limit ?? 0, windowMs: r.window ?? 0, hits: 0,
    });
    const sources: Array<{ src: string; flags: string; at: string }> = [];
    (r.patterns ?? []).forEach((p, j) => sources.push({ src: p, flags: '', at: `${at}.patterns[${j}]` }));
    (r.literals ?? []).forEach((l, j) => sources.push({ src: escapeRegex(l), flags: 'i', at: `${at}.literals[${j}]` }));
    for (const s of sources) {
      // 'g': confirm steps through matches (edge checks, Luhn) with lastIndex
      const re = compileRe(s.src, `${s.flags}g`);
      if (typeof re === 'string') {
        problems.push(`${s.at}: ${re}`);
        continue;
      }
      patterns.push({ rule: index, source: s.src, re, window: 0, validate: r.validate ?? null, edge: /(?:\\[bB]|\$)\)*$/.test(s.src) });
      yield;
    }
  }
  for (const [i, r] of input.preset.entries()) yield* add(r, 'preset', `policy.preset[${i}]`);
  for (const [i, r] of input.rules.entries()) yield* add(r, 'config', `policy.rules[${i}]`);
  if (problems.length > 0) throw new ConfigError(problems);

  // Drop preset rules a config rule replaced, keeping indexes dense.
  const keep = rules.filter((r) => !disabled.has(r.index));
  const remap = new Map<number, number>();
  keep.forEach((r, i) => remap.set(r.index, i));
  const finalRules = keep.map((r, i) => ({ ...r, index: i }));
  const finalPatterns = patterns.filter((p) => remap.has(p.rule)).map((p) => ({ ...p, rule: remap.get(p.rule)! }));

  // Atoms → automaton; the rest → one RE2.Set.
  const atomIds = new Map<string, number>();
  const atomToPats: number[][] = [];
  const setSources: string[] = [];
  const setPat: number[] = [];
  let setWindow = 0;
  const compiled: CompiledPattern[] = [];
  for (const [id, p] of finalPatterns.entries()) {
    const info = analyzePattern(p.source);
    // +1: the character after a match decides `\b` and `$`, so the window must include it
    const window = Math.min(info.maxLen, half) + 1;
    if (info.atoms) {
      for (const a of info.atoms) {
        let aid = atomIds.get(a);
        if (aid === undefined) {
          aid = atomToPats.length;
          atomIds.set(a, aid);
          atomToPats.push([]);
        }
        if (!atomToPats[aid].includes(id)) atomToPats[aid].push(id);
      }
    } else {
      // RE2.Set takes no per-pattern flags: a literal's case-insensitivity goes inline.
      setSources.push(p.re.ignoreCase && !splitInlineFlags(p.source).flags.includes('i') ? `(?i)${p.source}` : p.source);
      setPat.push(id);
      setWindow = Math.max(setWindow, window);
    }
    compiled.push({ ...p, window });
    yield;
  }
  const ac = atomToPats.length > 0 ? new AhoCorasick([...atomIds.keys()]) : null;
  yield;
  const atomStart = new Int32Array(atomToPats.length + 1);
  let n = 0;
  atomToPats.forEach((ps, i) => { atomStart[i] = n; n += ps.length; });
  atomStart[atomToPats.length] = n;
  const atomPat = new Int32Array(n);
  atomToPats.forEach((ps, i) => atomPat.set(ps, atomStart[i]));
  let set: RE2Set | null = null;
  if (setSources.length > 0) {
    try {
      set = new RE2.Set(setSources);
    } catch (err) {
      throw new ConfigError([`policy: the atom-less patterns do not compile as one RE2.Set: ${(err as Error).message}`]);
    }
    yield;
  }
  let mask = 0;
  for (const p of compiled) mask |= finalRules[p.rule].mask;
  let setMask = 0;
  for (const id of setPat) setMask |= finalRules[compiled[id].rule].mask;
  const firsts = setPat.map((id) => firstChars(compiled[id].source, compiled[id].re.ignoreCase));
  const setFirst: (Uint8Array | null)[] = [];
  for (let m = 0; m < 16; m++) {
    let acc: Uint8Array | null = new Uint8Array(128);
    setPat.forEach((id, i) => {
      if (!acc || (finalRules[compiled[id].rule].mask & m) === 0) return;
      const f = firsts[i];
      if (!f) acc = null;
      else for (let c = 0; c < 128; c++) acc[c] |= f[c];
    });
    setFirst.push(acc);
  }
  return {
    rules: finalRules,
    patterns: compiled,
    metricRules: finalRules.filter((r) => r.metric !== null),
    ac, atomStart, atomPat, set, setPat: Int32Array.from(setPat), setWindow, setMask, setFirst,
    tail: Math.max(32, input.tailBytes),
    mask,
  };
}

/**
 * Compiles a config's policy only to find problems (for `cordon check-config` and start-up before
 * anything listens): throws ConfigError with `policy.rules[i].patterns[j]: ...` lines.
 */
export function checkPolicy(preset: readonly PolicyRule[], rules: readonly PolicyRule[]): void {
  compilePolicy({ preset, rules, tailBytes: 512 });
}

/**
 * Pattern problems of config rules that failed the schema (unvalidated): reported with the schema's
 * problems so one run lists every error, not the schema's first and the patterns' on the next try.
 */
export function rawPatternProblems(rules: unknown): string[] {
  const problems: string[] = [];
  if (!Array.isArray(rules)) return problems;
  rules.forEach((r: unknown, i) => {
    const patterns = (r as { patterns?: unknown } | null)?.patterns;
    if (!Array.isArray(patterns)) return;
    patterns.forEach((p: unknown, j) => {
      if (typeof p !== 'string' || p === '') return;
      const re = compileRe(p, 'g');
      if (typeof re === 'string') problems.push(`policy.rules[${i}].patterns[${j}]: ${re}`);
    });
  });
  return problems;
}
