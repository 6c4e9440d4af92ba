// The --policy presets. Each is a list of rules; config rules are added after them and replace a
// preset rule of the same name.
import type { Preset } from '../../config/schema.js';
import type { PolicyRule } from '../compile.js';
import { INJECTION, INJECTION_CORE, PII, SECRETS, STRICT_EXTRA, TOOLS } from './rules.js';

const PRESET_RULES: Readonly<Record<Preset, readonly PolicyRule[]>> = {
  off: [],
  minimal: [...SECRETS, ...INJECTION_CORE],
  standard: [...SECRETS, ...INJECTION_CORE, ...INJECTION, ...TOOLS, ...PII],
  strict: [...SECRETS, ...INJECTION_CORE, ...INJECTION, ...TOOLS, ...PII, ...STRICT_EXTRA].map((r) =>
    // strict turns flags on secrets and PII into blocks
    r.action === 'flag' && (r.name.startsWith('secret.') || r.name.startsWith('pii.')) ? { ...r, action: 'block' as const } : r),
};

export function presetRules(preset: Preset): readonly PolicyRule[] {
  return PRESET_RULES[preset];
}
