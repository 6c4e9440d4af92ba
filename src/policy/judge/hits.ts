// What a judge's answer does to a request: "unsafe" refuses it, "safe" lets it through, and an
// error follows `on_error` (block refuses; allow records a low flag so a failing judge shows).
import type { DetectResult } from '../detect/detector.js';
import { excerpt } from '../scanner.js';
import type { Hit } from '../types.js';
import type { JudgeAnswer } from './judge.js';

export function judgeHits(a: JudgeAnswer, d: DetectResult, onError: 'allow' | 'block', excerptBytes: number): Hit[] | null {
  if (a.verdict === 'safe') return null;
  const shown = excerpt(d.text, 0, Math.min(d.text.length, excerptBytes), excerptBytes, false);
  const base = { direction: 'request' as const, excerpt: shown, score: d.score, labels: d.labels, judge_ms: a.ms };
  if (a.verdict === 'unsafe') {
    return [{ ...base, rule: 'judge.unsafe', severity: 'high', action: 'block', judge: a.label ? `unsafe ${a.label}` : 'unsafe' }];
  }
  return [{
    ...base, rule: 'judge.error', severity: onError === 'block' ? 'medium' : 'low', action: onError === 'block' ? 'block' : 'flag',
    judge: `error: ${a.label ?? 'unknown'}`,
  }];
}
