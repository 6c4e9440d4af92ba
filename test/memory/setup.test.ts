import { describe, expect, it } from 'vitest';
import { MemoryLimitError } from '../../src/memory/minimum.js';
import { createMemory } from '../../src/memory/setup.js';
import { MiB } from './fakes.js';

const memory = { warning: 0.8, critical: 0.95, sample_interval: 1000 };
const limits = { stream_buffer: 64 * 1024 };

describe('createMemory', () => {
  it('refuses a limit below the start-up floor', () => {
    expect(() => createMemory({ memory_limit: 32 * MiB, memory, limits }, console)).toThrow(MemoryLimitError);
  });

  it('builds a governor with the stream accounts registered and memory/ actions added', () => {
    const m = createMemory({ memory_limit: 1024 * MiB, memory, limits }, { info() {}, warn() {}, error() {} });
    expect(m.governor.limitBytes).toBe(1024 * MiB);
    expect(m.governor.warning).toBe(0.8);
    expect(m.actions.states().map((s) => s.name)).toEqual(['lower_stream_limit', 'reset_stalled_uploads', 'reset_high_memory_streams', 'shrink_heap']);
    m.governor.sampleNow();
    expect(m.governor.snapshot().components.buffers).toMatchObject({ bytes: 0, count: 0, limit_bytes: 64 * 1024 });
    expect(m.streams.limit).toBe(64 * 1024);
    expect(m.shrinker.available).toBe(true);
  });
});
