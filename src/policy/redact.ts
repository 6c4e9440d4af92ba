// `redact` on a whole (held) answer: each match of the rules that hit is replaced by
// `[REDACTED:<rule>]` inside the JSON strings that carry it, and nothing else of the body changes
// (numbers, key order and spacing stay as the upstream wrote them; only a rewritten string is
// re-escaped). The result is scanned again: if a rule that asked for redaction still matches (a
// secret split across two strings, or seen only through an escape the strings do not show), the
// caller refuses the answer instead, so a redaction never lets a match through.
import type { CompiledPolicy } from './compile.js';
import { bodyKind, ResponseInspector, type InspectorHost } from './inspector.js';
import { luhnValid } from './luhn.js';
import { MetricTable } from './metrics.js';
import type { Hit } from './types.js';

export const redactedMark = (rule: string): string => `[REDACTED:${rule}]`;

/** Replaces each match of the given rules' patterns in `s`; returns `s` itself when none matched. */
export function redactText(policy: CompiledPolicy, rules: ReadonlySet<string>, s: string): string {
  let out = s;
  for (const p of policy.patterns) {
    const name = policy.rules[p.rule].name;
    if (!rules.has(name)) continue;
    p.re.lastIndex = 0;
    if (!p.re.test(out)) continue;
    p.re.lastIndex = 0;
    const mark = redactedMark(name);
    out = p.re.replace(out, (m: string) => (p.validate === 'luhn' && !luhnValid(m) ? m : mark));
    p.re.lastIndex = 0;
  }
  return out;
}

/** Rewrites every JSON string token of `text` whose value holds a match. */
function redactJsonStrings(policy: CompiledPolicy, rules: ReadonlySet<string>, text: string): string {
  let out = '';
  let last = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    let j = i + 1;
    while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 ? 2 : 1;
    if (j >= text.length) break; // an unterminated string: left as it is (the re-scan decides)
    const token = text.slice(i, j + 1);
    let value: string | null = null;
    try { value = JSON.parse(token) as string; } catch { /* not a JSON string: left as it is */ }
    if (value !== null) {
      const r = redactText(policy, rules, value);
      if (r !== value) {
        out += text.slice(last, i) + JSON.stringify(r);
        last = j + 1;
      }
    }
    i = text.indexOf('"', j + 1);
  }
  return last === 0 ? text : out + text.slice(last);
}

/** An inspector host that counts nothing: the re-scan of a redacted body is not a second hit. */
function quietHost(policy: CompiledPolicy, excerptBytes: number): InspectorHost {
  // language detection is not re-run: only the rules that asked for redaction are checked
  return { policy, metrics: new MetricTable([]), excerptBytes, detector: null, countHits() { /* not counted */ }, streamBytes: 0 };
}

/**
 * The answer with every match of `rules` redacted, or null when a match of one of them is left
 * (the caller then refuses the answer: block). `contentType` chooses how the body is read, as
 * for the first scan; a body that is not JSON is redacted as plain text.
 */
export function redactAnswer(policy: CompiledPolicy, body: Buffer, contentType: string | undefined, rules: ReadonlySet<string>, excerptBytes: number): Buffer | null {
  const kind = bodyKind(contentType);
  const text = body.toString('utf8');
  const out = Buffer.from(kind === 'json' || kind === 'ndjson' ? redactJsonStrings(policy, rules, text) : redactText(policy, rules, text), 'utf8');
  const check = new ResponseInspector(quietHost(policy, excerptBytes), -1, kind);
  const left = concatHits(check.write(out), check.end());
  if (left !== null && left.some((h) => rules.has(h.rule))) return null;
  return out;
}

function concatHits(a: Hit[] | null, b: Hit[] | null): Hit[] | null {
  return a === null ? b : b === null ? a : a.concat(b);
}
