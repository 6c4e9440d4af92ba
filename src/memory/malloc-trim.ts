// The small addon in native/ (built at install by scripts/build-native.mjs), with two calls:
// - malloc_trim(0): after a burst, glibc keeps the native memory it freed (socket and parser state,
//   SQLite and RE2 allocations) in its arenas, and RSS, which the governor compares with the budget,
//   stays high. The shrink_heap action calls it after V8's collection to give those pages back.
// - mallopt(M_MMAP_THRESHOLD): fixed at glibc's initial 128 KiB when the addon loads, so large buffers
//   are mapped and returned when freed (glibc would raise it after each burst; see native/trim.c).
//   Measured with MALLOC_MMAP_THRESHOLD_=131072 on two flood seeds: unattributed RSS after the flood
//   7.7-14.9 MiB (15-31 without), back to normal in 14.4 and 0.4 s (never within 20 s without).
// - V8's MemoryPressureNotification (native/pressure.cc): a collection that also compacts, shrinks
//   the new space and releases pooled pages, which a plain gc() leaves committed.
import { createRequire } from 'node:module';

interface Addon { trim: () => boolean | null; pressure?: (level: number) => boolean; mmapThreshold?: (bytes: number) => boolean | null }

/** glibc's own initial mmap threshold, kept fixed */
const MMAP_THRESHOLD = 128 * 1024;

let addon: Addon | null | undefined;
let cached: (() => boolean | null) | null | undefined;

function load(): Addon | null {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)('../../native/build/Release/cordon_trim.node') as Addon;
    addon.mmapThreshold?.(MMAP_THRESHOLD);
  } catch {
    addon = null;
  }
  return addon;
}

/** Loads the addon now (boot.ts: before other modules, so the mmap threshold applies to start-up). */
export function loadNative(): boolean { return load() !== null; }

/** The trim function, or null when the addon was not built (or the libc has no malloc_trim). */
export function mallocTrim(): (() => boolean | null) | null {
  if (cached !== undefined) return cached;
  const a = load();
  try {
    // The probe is a real trim (null only where the libc has none): at start-up it returns the
    // pages module loading freed, which does no harm.
    cached = a !== null && a.trim() !== null ? a.trim : null;
  } catch {
    cached = null;
  }
  return cached;
}

/** V8 memory-pressure levels, as v8::MemoryPressureLevel. */
export const V8_PRESSURE = { none: 0, moderate: 1, critical: 2 } as const;

/** isolate->MemoryPressureNotification(level), or null when the addon (or that call) is not built. */
export function v8MemoryPressure(): ((level: number) => boolean) | null {
  const a = load();
  return a !== null && typeof a.pressure === 'function' ? a.pressure : null;
}
