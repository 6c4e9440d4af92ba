import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mallocTrim } from '../../src/memory/malloc-trim.js';
import { YoungGenerationCap, youngGenerationCapFor } from '../../src/memory/young-gen.js';
import { MiB } from './fakes.js';

describe('young generation cap', () => {
  it('is 1/16 of a small budget, at least 4 MiB, and none where V8 stays below it anyway', () => {
    expect(youngGenerationCapFor(128 * MiB)).toBe(8 * MiB);
    expect(youngGenerationCapFor(32 * MiB)).toBe(4 * MiB);
    expect(youngGenerationCapFor(256 * MiB)).toBe(16 * MiB);
    expect(youngGenerationCapFor(512 * MiB)).toBeNull();
    expect(youngGenerationCapFor(1024 * MiB)).toBeNull();
  });

  it('stops growth at the cap or under pressure, resumes at normal below the cap, never sets factor 0', () => {
    const flags: string[] = [];
    let size = 2 * MiB;
    const y = new YoungGenerationCap(8 * MiB, { setFlags: (f) => flags.push(f), newSpaceBytes: () => size });
    y.check('normal');
    expect(flags).toEqual([]); // below the cap: V8 decides
    y.check('warning');
    expect(flags).toEqual(['--semi-space-growth-factor=1']);
    expect(y.growthStopped).toBe(true);
    y.check('critical');
    expect(flags.length).toBe(1); // already stopped: no repeated flag changes
    y.check('normal');
    expect(flags.at(-1)).toBe('--semi-space-growth-factor=2');
    size = 8 * MiB;
    y.check('normal');
    expect(flags.at(-1)).toBe('--semi-space-growth-factor=1');
    y.check('normal');
    expect(flags.length).toBe(3);
    expect(y.freezes).toBe(2);
    expect(flags.some((f) => f.endsWith('=0'))).toBe(false);
  });

  it('really keeps V8 new space at its size once stopped (a child process allocating 300 MB of garbage)', () => {
    const mod = fileURLToPath(new URL('../../dist/memory/young-gen.js', import.meta.url));
    const script = `
      import v8 from 'node:v8';
      import { YoungGenerationCap } from ${JSON.stringify(mod)};
      const ns = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
      const y = new YoungGenerationCap(process.argv.includes('cap') ? 1 : Infinity);
      y.check('normal');
      let keep = [];
      for (let i = 0; i < 3e6; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 50000) keep = []; }
      console.log(ns());`;
    const run = (arg: string) => Number(spawnSync(process.execPath, ['--input-type=module', '-e', script, arg], { encoding: 'utf8' }).stdout.trim());
    const capped = run('cap');
    const free = run('free');
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(4 * MiB);
    expect(free).toBeGreaterThan(capped);
  });
});

describe('malloc_trim addon', () => {
  it('is built at install (npm ci) and returns memory to the OS', () => {
    const built = existsSync(fileURLToPath(new URL('../../native/build/Release/cordon_trim.node', import.meta.url)));
    if (!built && process.env.CI !== 'true') {
      console.warn('native/ addon not built here (run npm run build:native); skipping the malloc_trim check');
      return;
    }
    const trim = mallocTrim();
    expect(trim).not.toBeNull();
    expect(typeof trim!()).toBe('boolean');
  });
});
