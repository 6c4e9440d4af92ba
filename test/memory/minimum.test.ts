import { describe, expect, it } from 'vitest';
import { checkMemoryLimit, MemoryLimitError, minimumStartBytes, START_HEADROOM_BYTES, START_RSS_BYTES } from '../../src/memory/minimum.js';
import { MiB } from './fakes.js';

describe('minimum start memory', () => {
  it('is the measured start-up RSS plus headroom, or the live RSS when higher', () => {
    expect(minimumStartBytes()).toBe(START_RSS_BYTES + START_HEADROOM_BYTES);
    expect(minimumStartBytes(200 * MiB)).toBe(200 * MiB + START_HEADROOM_BYTES);
    expect(minimumStartBytes(200 * MiB + 1) % MiB).toBe(0);
  });

  it('refuses a limit below the minimum, naming it', () => {
    let err: unknown;
    try { checkMemoryLimit(16 * MiB, 50 * MiB); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(MemoryLimitError);
    const e = err as MemoryLimitError;
    expect(e.code).toBe('memory_limit_too_low');
    expect(e.minimumBytes).toBe(minimumStartBytes());
    expect(e.message).toBe('memory_limit: 16.0MiB is below the 112.0MiB cordon needs to start; use --memory-limit 112MB or more');
    expect(e.message).not.toContain('\n');
  });

  it('accepts the 128MB the overload benchmark uses, and a real process fits the constant', () => {
    expect(() => checkMemoryLimit(128 * MiB, 60 * MiB)).not.toThrow();
    // The test runner has loaded far less than the gateway; it must sit under the measured start-up figure.
    expect(process.memoryUsage.rss()).toBeLessThan(START_RSS_BYTES * 2);
    expect(() => checkMemoryLimit(Number.NaN, 0)).toThrow(MemoryLimitError);
  });
});
