// memory/: one budget, a pressure ladder, per-stream accounts, per-component accounting, a leak watch.
export { MemoryGovernor, nextLevel, processSampler } from './governor.js';
export type { GovernorOptions, MemorySnapshot, ComponentFigures, PressureListener, SampleListener } from './governor.js';
export { PressureActions } from './actions.js';
export type { PressureAction, ActionState } from './actions.js';
export { StreamAccounts, MIN_STREAM_BUFFER, DEFAULT_STREAM_BUFFER, PRESSURED_STREAM_BUFFER } from './streams.js';
export type { AccountedStream, StreamKind, StreamRow, ResetReason } from './streams.js';
export { StreamResetter, addStreamActions } from './overload.js';
export { LeakWatch, TrendWindow, DEFAULT_LEAK_WATCH } from './trend.js';
export type { LeakSuspect, LeakWatchOptions, TrendFit } from './trend.js';
export { minimumStartBytes, checkMemoryLimit, MemoryLimitError, START_RSS_BYTES, START_HEADROOM_BYTES } from './minimum.js';
export { HeapShrinker, exposeGc } from './shrink-heap.js';
export { mallocTrim } from './malloc-trim.js';
export { HeapTuning, youngGenerationCapFor, PRESSURED_GROWING_PERCENT } from './heap-tuning.js';
export type { HeapShrinkerOptions } from './shrink-heap.js';
export { registerMemoryMetrics } from './metrics.js';
export { createMemory } from './setup.js';
export type { Memory } from './setup.js';
export * from './types.js';
