import { describe, expect, it } from 'vitest';
import { BufferPool, SIZE_CLASSES } from '../../src/memory/buffer-pool.js';

describe('BufferPool', () => {
  it('hands out the smallest class that fits and reuses released buffers', () => {
    const p = new BufferPool();
    const a = p.acquire(100);
    expect(a.length).toBe(4096);
    expect(p.acquire(4097).length).toBe(16384);
    expect(p.acquire(65536).length).toBe(65536);
    expect(p.release(a)).toBe(true);
    const b = p.acquire(10);
    expect(b).toBe(a);
    const s = p.stats();
    expect(s).toMatchObject({ hits: 1, misses: 3, hit_rate: 0.25 });
  });

  it('above the largest class allocates exactly and does not pool', () => {
    const p = new BufferPool();
    const big = p.acquire(100_000);
    expect(big.length).toBe(100_000);
    expect(p.release(big)).toBe(false);
    expect(p.stats().oversize).toBe(1);
    expect(p.bytes()).toBe(0);
  });

  it('refuses double releases and foreign buffers', () => {
    const p = new BufferPool();
    const a = p.acquire(1);
    expect(p.release(a)).toBe(true);
    expect(p.release(a)).toBe(false);
    expect(p.release(Buffer.alloc(4096))).toBe(false);
    expect(p.release(p.acquire(1).subarray(0, 10))).toBe(false);
    expect(p.stats().rejected).toBe(3);
    // the double release did not put a second copy on the free list
    const x = p.acquire(1), y = p.acquire(1);
    expect(x).not.toBe(y);
  });

  it('keeps free lists bounded', () => {
    const p = new BufferPool({ maxFreeBytesPerClass: 4 * 4096 });
    const bufs = Array.from({ length: 10 }, () => p.acquire(1));
    for (const b of bufs) p.release(b);
    expect(p.stats().free_bytes).toBe(4 * 4096);
    expect(p.bytes()).toBe(4 * 4096);
  });

  it('accounts outstanding and free bytes', () => {
    const p = new BufferPool();
    const a = p.acquire(1), b = p.acquire(16_000);
    expect(p.bytes()).toBe(4096 + 16384);
    expect(p.count()).toBe(2);
    p.release(a);
    expect(p.bytes()).toBe(4096 + 16384);
    expect(p.count()).toBe(1);
    p.release(b);
    expect(p.stats()).toMatchObject({ outstanding: 0, outstanding_bytes: 0, free_bytes: 4096 + 16384 });
  });

  it('trims under pressure and grows back at normal', () => {
    const p = new BufferPool({ maxFreeBytesPerClass: 8 * 65536 });
    const fill = () => {
      const bufs = SIZE_CLASSES.flatMap((c) => Array.from({ length: 8 }, () => p.acquire(c)));
      for (const b of bufs) p.release(b);
    };
    fill();
    const full = p.stats().free_bytes;
    p.setPressure('warning');
    // caps at normal are 128/32/8 buffers per class; at warning a quarter: 32/8/2
    expect(p.stats().free_bytes).toBe(8 * 4096 + 8 * 16384 + 2 * 65536);
    p.setPressure('critical');
    expect(p.stats().free_bytes).toBe(0);
    fill();
    expect(p.stats().free_bytes).toBe(0); // nothing kept while critical
    p.setPressure('normal');
    fill();
    expect(p.stats().free_bytes).toBe(full);
    expect(p.trim()).toBe(full);
    expect(p.bytes()).toBe(0);
  });

  it('rejects nonsense sizes', () => {
    expect(() => new BufferPool().acquire(Number.NaN)).toThrow(RangeError);
    expect(() => new BufferPool().acquire(-1)).toThrow(RangeError);
  });
});
