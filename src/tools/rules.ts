// The rules the tools part applies itself, split from the rest at load: `action: hold` on
// tool_call rules, `target: tool_description` rules, and `metric: repeated_tool_call`. The policy
// engine never sees them. Patterns compile with RE2 (linear time) like every other rule.
import RE2 from 're2';
import { ConfigError } from '../config/load.js';
import type { RuleConfig } from '../config/schema.js';
import type { RuleAction, Severity } from '../events.js';

export interface PatternToolRule {
  readonly name: string;
  readonly severity: Severity;
  readonly action: RuleAction;
  readonly res: readonly RE2[];
  readonly source: 'preset' | 'config';
}

export interface LoopRule {
  readonly name: string;
  readonly severity: Severity;
  readonly action: RuleAction;
  readonly limit: number;
  /** 0: per session, no window */
  readonly windowMs: number;
  readonly source: 'preset' | 'config';
}

export interface ToolRules {
  readonly hold: readonly PatternToolRule[];
  readonly descriptions: readonly PatternToolRule[];
  readonly loops: readonly LoopRule[];
}

export function isToolRule(r: RuleConfig): boolean {
  return r.action === 'hold' || r.target === 'tool_description' || r.metric === 'repeated_tool_call';
}

/** The configured rules minus the ones this part applies: what the policy engine compiles. */
export function engineRules<R extends RuleConfig>(rules: readonly R[]): R[] {
  return rules.filter((r) => !isToolRule(r));
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/**
 * Compiles preset and configured tool rules; a configured rule replaces a preset rule of the
 * same name. Throws ConfigError with `policy.rules[i].patterns[j]: ...` lines (exit 2 at start).
 */
export function compileToolRules(preset: readonly RuleConfig[], rules: readonly RuleConfig[]): ToolRules {
  const problems: string[] = [];
  const out = { hold: [] as PatternToolRule[], descriptions: [] as PatternToolRule[], loops: [] as LoopRule[] };
  const configured = new Set(rules.filter(isToolRule).map((r) => r.name));
  const add = (r: RuleConfig, source: 'preset' | 'config', at: string) => {
    if (!isToolRule(r)) return;
    if (source === 'preset' && configured.has(r.name)) return;
    if (r.metric === 'repeated_tool_call') {
      out.loops.push({ name: r.name, severity: r.severity, action: r.action, limit: r.limit ?? 1, windowMs: r.window ?? 0, source });
      return;
    }
    const res: RE2[] = [];
    const sources: Array<[string, string, string]> = [];
    (r.patterns ?? []).forEach((p, j) => sources.push([p, '', `${at}.patterns[${j}]`]));
    (r.literals ?? []).forEach((l, j) => sources.push([escapeRegex(l), 'i', `${at}.literals[${j}]`]));
    for (const [src, flags, where] of sources) {
      try {
        res.push(new RE2(src, flags));
      } catch (err) {
        problems.push(`${where}: does not compile in RE2: ${(err as Error).message}`);
      }
    }
    const rule = { name: r.name, severity: r.severity, action: r.action, res, source };
    if (r.target === 'tool_description') out.descriptions.push(rule);
    else out.hold.push(rule);
  };
  preset.forEach((r, i) => add(r, 'preset', `policy.preset[${i}]`));
  rules.forEach((r, i) => add(r, 'config', `policy.rules[${i}]`));
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** The first rule with a pattern that matches any of the texts, or null. */
export function firstMatch(rules: readonly PatternToolRule[], texts: readonly string[]): { rule: PatternToolRule; excerpt: string } | null {
  for (const rule of rules) {
    for (const re of rule.res) {
      for (const t of texts) {
        const m = re.exec(t);
        if (m !== null) return { rule, excerpt: excerptAt(t, m.index, m[0].length) };
      }
    }
  }
  return null;
}

/** Every rule that matches, each once (tool descriptions: one description may break several). */
export function allMatches(rules: readonly PatternToolRule[], text: string): Array<{ rule: PatternToolRule; excerpt: string }> | null {
  let out: Array<{ rule: PatternToolRule; excerpt: string }> | null = null;
  for (const rule of rules) {
    for (const re of rule.res) {
      const m = re.exec(text);
      if (m === null) continue;
      (out ??= []).push({ rule, excerpt: excerptAt(text, m.index, m[0].length) });
      break;
    }
  }
  return out;
}

const EXCERPT_CONTEXT = 60;
function excerptAt(text: string, at: number, len: number): string {
  const from = Math.max(0, at - EXCERPT_CONTEXT);
  return text.slice(from, Math.min(text.length, at + len + EXCERPT_CONTEXT));
}
