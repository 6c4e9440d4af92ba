import { describe, expect, it } from 'vitest';
import { MemoryLimitError } from '../../src/memory/minimum.js';
import { createMemory } from '../../src/memory/setup.js';
import { MiB } from './fakes.js';

const memory = { warning: 0.8, critical: 0.95, sample_interval: 1000 };

describe('createMemory', () => {
  it('refuses a limit below the start-up floor', () => {
    expect(() => createMemory({ memory_limit: 32 * MiB, memory }, console)).toThrow(MemoryLimitError);
  });

  it('builds a governor with the buffer pool registered and memory/ actions added', () => {
    const m = createMemory({ memory_limit: 1024 * MiB, memory }, { info() {}, warn() {}, error() {} });
    expect(m.governor.limitBytes).toBe(1024 * MiB);
    expect(m.governor.warning).toBe(0.8);
    expect(m.actions.states().map((s) => s.name)).toEqual(['trim_buffer_pools', 'shrink_heap']);
    m.governor.sampleNow();
    expect(m.governor.snapshot().components.buffers).toMatchObject({ bytes: 0, count: 0 });
    expect(m.shrinker.available).toBe(true);
  });
});
