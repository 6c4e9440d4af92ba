// The contract between memory/ and the parts it accounts for. A part registers one component per
// kind of state it holds; the governor asks it for its bytes at each sample (about once a second),
// never on the hot path, so bytes() may walk a small structure but must not allocate much.

/** The pressure ladder, lowest first. */
export type PressureLevel = 'normal' | 'warning' | 'critical';

/** Numeric rank of a level, so that "at least warning" is a comparison. */
export const LEVEL_RANK: Readonly<Record<PressureLevel, 0 | 1 | 2>> = { normal: 0, warning: 1, critical: 2 };
export const LEVELS: readonly PressureLevel[] = ['normal', 'warning', 'critical'];

/** The component names SPEC.md requires in /control/memory (besides the derived `unattributed`). */
export const REQUIRED_COMPONENTS = [
  'sessions', 'buffers', 'scanners', 'captures', 'websockets', 'storage_queue', 'upstreams',
] as const;
export type RequiredComponent = (typeof REQUIRED_COMPONENTS)[number];

export interface MemoryComponent {
  /** bytes this component holds now (an estimate from its own sizes; RSS stays the ground truth) */
  bytes(): number;
  /** how many things it holds (sessions, connections, queued rows); omitted when meaningless */
  count?(): number;
  /** extra figures shown beside bytes in /control/memory, e.g. a pool's hit rate */
  details?(): Record<string, number>;
}

/** One reading of process memory. `rss` is the ground truth the budget is compared with. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** memory of Buffers/ArrayBuffers outside the V8 heap */
  external: number;
}

export type MemorySampler = () => MemorySample;

/** The logger shape memory/ needs (log.ts PartLog). */
export type { PartLog as MemoryLog } from '../log.js';
export { silentLog } from '../log.js';
