// malloc_trim(0) through the small addon in native/ (built at install by scripts/build-native.mjs).
// After a burst, glibc keeps the native memory it freed (socket and parser state, SQLite and RE2
// allocations) in its arenas, and RSS, which the governor compares with the budget, stays high.
// The shrink_heap action calls this after V8's collection to give those pages back.
import { createRequire } from 'node:module';

let cached: (() => boolean | null) | null | undefined;

/** The trim function, or null when the addon was not built (or the libc has no malloc_trim). */
export function mallocTrim(): (() => boolean | null) | null {
  if (cached !== undefined) return cached;
  try {
    const addon = createRequire(import.meta.url)('../../native/build/Release/cordon_trim.node') as { trim: () => boolean | null };
    // The probe is a real trim (null only where the libc has none): at start-up it returns the
    // pages module loading freed, which does no harm.
    cached = addon.trim() === null ? null : addon.trim;
  } catch {
    cached = null;
  }
  return cached;
}
