// A cap on V8's young generation for small budgets. V8 doubles the new space (two semi-spaces) as
// allocation goes on, up to 32 MiB on 64-bit Node 20, and does not give it back while the process is
// busy: under a 128 MB budget that is a quarter of the budget in mostly empty pages (measured at the
// overload peak: 60-78 MiB of heap_total for 40 MiB used). `--max-semi-space-size` would bound it but
// only at launch, and cordon cannot choose its node flags. What can change at run time is the growth
// factor, read by V8 each time it grows the new space: set to 1, the new space stops growing at its
// current size. So growth stays on until the new space reaches the cap (or pressure leaves normal),
// then stops; it resumes only at normal pressure with the new space below the cap.
// (Factor 0 crashes V8: never set.)
import v8 from 'node:v8';
import type { PressureLevel } from './types.js';

/** V8's own largest new space on 64-bit Node 20 (2 × 16 MiB semi-spaces). */
const V8_MAX_NEW_SPACE = 32 * 1024 * 1024;

/** The new-space cap for a budget: 1/16 of it, at least 4 MiB; null when V8's own maximum is lower. */
export function youngGenerationCapFor(limitBytes: number): number | null {
  const cap = Math.max(4 * 1024 * 1024, Math.floor(limitBytes / 16));
  return cap >= V8_MAX_NEW_SPACE ? null : cap;
}

export interface YoungGenerationOptions {
  setFlags?: (flags: string) => void;
  newSpaceBytes?: () => number;
}

export class YoungGenerationCap {
  private frozen = false;
  private readonly setFlags: (flags: string) => void;
  private readonly newSpaceBytes: () => number;
  /** times growth was stopped */
  freezes = 0;

  constructor(readonly capBytes: number, opts: YoungGenerationOptions = {}) {
    this.setFlags = opts.setFlags ?? ((f) => v8.setFlagsFromString(f));
    this.newSpaceBytes = opts.newSpaceBytes ?? newSpaceSize;
  }

  get growthStopped(): boolean { return this.frozen; }

  /** At every governor sample: stop growth at the cap or under pressure; let it resume when neither holds. */
  check(level: PressureLevel): void {
    const stop = level !== 'normal' || this.newSpaceBytes() >= this.capBytes;
    if (stop === this.frozen) return;
    this.frozen = stop;
    if (stop) this.freezes++;
    this.setFlags(stop ? '--semi-space-growth-factor=1' : '--semi-space-growth-factor=2');
  }
}

function newSpaceSize(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}
