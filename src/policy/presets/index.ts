// The --policy presets. Each is a list of rules; config rules are added after them and replace a
// preset rule of the same name.
import type { Preset } from '../../config/schema.js';
import type { PolicyRule } from '../compile.js';
import type { DetectionConfig } from '../detect/detector.js';
import { LINEAR_BLEND } from '../detect/linear-weights.js';
import { SIGNALS } from '../detect/signals.js';
import { EXFIL, PII, SECRETS, STRICT_EXTRA, TOOLS } from './rules.js';

const PRESET_RULES: Readonly<Record<Preset, readonly PolicyRule[]>> = {
  off: [],
  minimal: [...SECRETS],
  standard: [...SECRETS, ...EXFIL, ...TOOLS, ...PII],
  strict: [...SECRETS, ...EXFIL, ...TOOLS, ...PII, ...STRICT_EXTRA].map((r) =>
    // strict refuses what the others flag or redact on secrets and PII: the whole answer is blocked
    (r.action === 'flag' || r.action === 'redact') && (r.name.startsWith('secret.') || r.name.startsWith('pii.')) ? { ...r, action: 'block' as const } : r),
};

export function presetRules(preset: Preset): readonly PolicyRule[] {
  return PRESET_RULES[preset];
}

// Anomaly-score thresholds (tuned on the development half of ../shared/corpus-public only;
// BENCHMARKS.md has recall and false positives on the test half). minimal refuses only what
// several strong signals agree on, by rules alone; standard and strict blend in the linear
// classifier as scripts/train-detect.mjs fitted it (re-run that script after changing signals).
const DETECTION: Readonly<Record<Preset, DetectionConfig | null>> = {
  off: null,
  minimal: { signals: SIGNALS, threshold: 6, grey: 4, action: 'block', severity: 'high' },
  standard: { signals: SIGNALS, threshold: 4, grey: 2, action: 'block', severity: 'high', linear: LINEAR_BLEND.standard },
  strict: { signals: SIGNALS, threshold: 3, grey: 2, action: 'block', severity: 'high', linear: LINEAR_BLEND.strict },
};

export function presetDetection(preset: Preset): DetectionConfig | null {
  return DETECTION[preset];
}
