// Test helper: builds WebSocket frames byte by byte, including malformed ones.
export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  mask?: boolean;
  rsv?: number; // bits 0x40 / 0x20 / 0x10
  /** force a length encoding: 7, 16 or 64 bits */
  lenBits?: 7 | 16 | 64;
  /** lie about the length (header only) */
  declaredLength?: number;
}

export function frame(f: FrameSpec): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload, 'utf8') : (f.payload ?? Buffer.alloc(0));
  const len = f.declaredLength ?? payload.length;
  const fin = f.fin ?? true;
  const mask = f.mask ?? true;
  const bits = f.lenBits ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const parts: number[] = [(fin ? 0x80 : 0) | (f.rsv ?? 0) | f.opcode];
  const m = mask ? 0x80 : 0;
  if (bits === 7) parts.push(m | len);
  else if (bits === 16) parts.push(m | 126, (len >> 8) & 0xff, len & 0xff);
  else {
    parts.push(m | 127);
    const hi = Math.floor(len / 2 ** 32);
    parts.push((hi >>> 24) & 0xff, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    parts.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  const key = [0x37, 0xfa, 0x21, 0x3d];
  if (mask) parts.push(...key);
  const head = Buffer.from(parts);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, body]);
}

export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2, 'utf8');
  return b;
}

/** Splits a buffer at the given offsets. */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c <= prev || c >= buf.length) continue;
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** A small deterministic PRNG so random splits are reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}
