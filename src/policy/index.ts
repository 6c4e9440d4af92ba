// The policy part's public surface.
export { createPolicyEngine, createPolicyEngineSliced, type PolicyEngineOptions } from './engine.js';
export { checkPolicy, compilePolicy, type PolicyRule } from './compile.js';
export { presetRules } from './presets/index.js';
export type { Hit, PolicyEngine, RuleStat, StreamInspector } from './types.js';
