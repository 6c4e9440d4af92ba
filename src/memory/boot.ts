// Imported first by the CLI, before any other module runs: V8's new space (two semi-spaces) doubles
// while module bodies run (zod schemas, policy presets), up to 2 × 16 MiB that an idle gateway never
// uses again; a growth factor of 1 keeps it at its initial size during start-up. HeapTuning
// (heap-tuning.ts) gives growth back at the governor's first sample, once the gateway listens, so
// traffic grows it as before. Measured in BENCHMARKS.md ("Idle floor"). It also loads the native
// addon, whose load fixes glibc's mmap threshold (malloc-trim.ts).
import v8 from 'node:v8';
import { loadNative } from './malloc-trim.js';

let held = false;
try {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
} catch { /* a runtime without the flag starts as before */ }

// The native addon's mmap threshold (malloc-trim.ts), before start-up allocates.
loadNative();

/** Whether new-space growth was stopped at boot (HeapTuning resumes it). */
export function growthHeldAtBoot(): boolean { return held; }
