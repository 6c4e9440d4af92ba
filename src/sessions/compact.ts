// Compact representations and V8 size estimates used by the session table's own accounting.
// Sizes assume 64-bit pointers, as in Node's official builds (no pointer compression).

/** -1 unless `s` is a dotted-quad IPv4 address; else its value as a uint32. */
export function parseIpv4(s: string): number {
  let value = 0;
  let part = -1;
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1;
      part = (part < 0 ? 0 : part * 10) + (c - 48);
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || part < 0) return -1;
  return (value * 256 + part) >>> 0;
}

// V8 makes ropes (ConsString) of concatenations and views (SlicedString) of substrings; either
// can keep a much larger parent string alive for as long as the table keeps the ID. A latin1
// round trip through a buffer yields one flat string (IDs are ASCII by validation).
const SCRATCH = Buffer.allocUnsafe(256);
export function flatten(s: string): string {
  if (s.length < 13 || s.length > SCRATCH.length) return s; // V8 makes no ropes or slices this short
  const n = SCRATCH.write(s, 0, 'latin1');
  return SCRATCH.toString('latin1', 0, n);
}

/** A flat one-byte V8 string: 16-byte header (map, hash, length) + one byte a char, 8-aligned. */
export function stringBytes(len: number): number {
  return (16 + len + 7) & ~7;
}

/** V8 OrderedHashMap: header + a bucket word per two entries + three words per entry; capacity a power of two. */
export function mapBytes(size: number): number {
  let cap = 4;
  while (cap < size) cap *= 2;
  return 40 + cap * 28;
}

