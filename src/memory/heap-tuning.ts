// V8 heap settings that follow the budget and the pressure ladder, changed at run time.
//
// Young generation. V8 doubles the new space (two semi-spaces) as allocation goes on, up to 32 MiB
// on 64-bit Node 20, and keeps it while the process is busy: under a 128 MB budget that is a quarter
// of the budget in mostly empty pages. `--max-semi-space-size` would bound it but only at launch, and
// cordon cannot choose its node flags. What can change at run time is the growth factor, read by V8
// each time it grows the new space: set to 1, the new space stops growing at its current size. So for
// a small budget growth stays on until the new space reaches the cap (or pressure leaves normal), then
// stops; it resumes only at normal pressure with the new space below the cap. (Factor 0 crashes V8.)
//
// Old generation. V8 lets the old generation grow to a multiple of what survived the last full
// collection before it collects again, a multiple chosen for speed and blind to our budget; under a
// burst it ran the heap to 60-70 MiB with 40-50 MiB used. `--heap-growing-percent`, also read at run
// time, fixes the multiple: at warning and above it is set to 1.1, so V8 collects once the old
// generation is 10% over its live size; at normal V8's own heuristic is back (0).
// Measured (a churn of promoted objects, bench notes in BENCHMARKS.md): peak heap_total 180 → 102 MiB.
import v8 from 'node:v8';
import type { PressureLevel } from './types.js';

/** V8's own largest new space on 64-bit Node 20 (2 × 16 MiB semi-spaces). */
const V8_MAX_NEW_SPACE = 32 * 1024 * 1024;
/** the old generation's growing percent while pressure is not normal */
export const PRESSURED_GROWING_PERCENT = 10;

/** The new-space cap for a budget: 1/16 of it, at least 4 MiB; null when V8's own maximum is lower. */
export function youngGenerationCapFor(limitBytes: number): number | null {
  const cap = Math.max(4 * 1024 * 1024, Math.floor(limitBytes / 16));
  return cap >= V8_MAX_NEW_SPACE ? null : cap;
}

export interface HeapTuningOptions {
  setFlags?: (flags: string) => void;
  newSpaceBytes?: () => number;
  /** growth was stopped before modules loaded (boot.ts): the first check gives it back */
  heldAtBoot?: boolean;
}

export class HeapTuning {
  private growthStopped = false;
  private tight = false;
  private readonly setFlags: (flags: string) => void;
  private readonly newSpaceBytes: () => number;
  /** times new-space growth was stopped */
  freezes = 0;

  /** `newSpaceCap`: from youngGenerationCapFor; null leaves the young generation to V8. */
  constructor(readonly newSpaceCap: number | null, opts: HeapTuningOptions = {}) {
    this.setFlags = opts.setFlags ?? ((f) => v8.setFlagsFromString(f));
    this.newSpaceBytes = opts.newSpaceBytes ?? newSpaceSize;
    this.growthStopped = opts.heldAtBoot ?? false;
  }

  get newSpaceGrowthStopped(): boolean { return this.growthStopped; }
  get oldGenerationTight(): boolean { return this.tight; }

  /** At every governor sample. */
  check(level: PressureLevel): void {
    const pressured = level !== 'normal';
    if (pressured !== this.tight) {
      this.tight = pressured;
      this.setFlags(`--heap-growing-percent=${pressured ? PRESSURED_GROWING_PERCENT : 0}`);
    }
    // No cap: V8 decides, once growth held at boot is given back.
    const stop = this.newSpaceCap === null ? false : pressured || this.newSpaceBytes() >= this.newSpaceCap;
    if (stop === this.growthStopped) return;
    this.growthStopped = stop;
    if (stop) this.freezes++;
    this.setFlags(stop ? '--semi-space-growth-factor=1' : '--semi-space-growth-factor=2');
  }
}

function newSpaceSize(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}
