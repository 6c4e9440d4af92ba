import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mallocTrim } from '../../src/memory/malloc-trim.js';
import { HeapTuning, youngGenerationCapFor } from '../../src/memory/heap-tuning.js';
import { MiB } from './fakes.js';

describe('heap tuning', () => {
  it('is 1/16 of a small budget, at least 4 MiB, and none where V8 stays below it anyway', () => {
    expect(youngGenerationCapFor(128 * MiB)).toBe(8 * MiB);
    expect(youngGenerationCapFor(32 * MiB)).toBe(4 * MiB);
    expect(youngGenerationCapFor(256 * MiB)).toBe(16 * MiB);
    expect(youngGenerationCapFor(512 * MiB)).toBeNull();
    expect(youngGenerationCapFor(1024 * MiB)).toBeNull();
  });

  it('stops new-space growth at the cap or under pressure, resumes at normal below the cap, never sets factor 0', () => {
    const flags: string[] = [];
    let size = 2 * MiB;
    const t = new HeapTuning(8 * MiB, { setFlags: (f) => flags.push(f), newSpaceBytes: () => size });
    const growth = () => flags.filter((f) => f.startsWith('--semi-space'));
    t.check('normal');
    expect(growth()).toEqual([]); // below the cap: V8 decides
    t.check('warning');
    expect(growth()).toEqual(['--semi-space-growth-factor=1']);
    expect(t.newSpaceGrowthStopped).toBe(true);
    t.check('critical');
    expect(growth().length).toBe(1); // already stopped: no repeated flag changes
    t.check('normal');
    expect(growth().at(-1)).toBe('--semi-space-growth-factor=2');
    size = 8 * MiB;
    t.check('normal');
    expect(growth().at(-1)).toBe('--semi-space-growth-factor=1');
    t.check('normal');
    expect(growth().length).toBe(3);
    expect(t.freezes).toBe(2);
    expect(flags.some((f) => f.endsWith('=0') && f.startsWith('--semi'))).toBe(false);
  });

  it('keeps the old generation tight (10% growth) while pressure is not normal, and gives V8 its heuristic back after', () => {
    const flags: string[] = [];
    const t = new HeapTuning(null, { setFlags: (f) => flags.push(f), newSpaceBytes: () => 64 * MiB });
    t.check('normal');
    expect(flags).toEqual([]);
    t.check('warning');
    t.check('critical');
    expect(flags).toEqual(['--heap-growing-percent=10']);
    expect(t.oldGenerationTight).toBe(true);
    t.check('normal');
    expect(flags).toEqual(['--heap-growing-percent=10', '--heap-growing-percent=0']);
    // no young-generation cap for a large budget: its flag is never touched
    expect(flags.some((f) => f.startsWith('--semi'))).toBe(false);
  });

  it('really keeps V8 new space at its size once stopped (a child process allocating 300 MB of garbage)', () => {
    const mod = fileURLToPath(new URL('../../dist/memory/heap-tuning.js', import.meta.url));
    const script = `
      import v8 from 'node:v8';
      import { HeapTuning } from ${JSON.stringify(mod)};
      const ns = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
      const y = new HeapTuning(process.argv.includes('cap') ? 1 : null);
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

describe('start-up new space (memory/boot.ts)', () => {
  it('gives growth held at boot back at the first check, once, also with no cap', () => {
    const flags: string[] = [];
    const t = new HeapTuning(null, { setFlags: (f) => flags.push(f), newSpaceBytes: () => MiB, heldAtBoot: true });
    expect(t.newSpaceGrowthStopped).toBe(true);
    t.check('normal');
    t.check('normal');
    expect(flags).toEqual(['--semi-space-growth-factor=2']);
  });

  it('keeps new space small while a module graph with survivors loads, and the CLI loads boot before anything else', () => {
    const boot = fileURLToPath(new URL('../../dist/memory/boot.js', import.meta.url));
    // Objects that survive scavenges, as module bodies building schemas and presets make.
    const script = (withBoot: boolean) => `
      import v8 from 'node:v8';
      ${withBoot ? `await import(${JSON.stringify(boot)});` : ''}
      const keep = [];
      for (let i = 0; i < 400000; i++) keep.push({ a: i, b: 'z' + i });
      console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`;
    const run = (b: boolean) => Number(spawnSync(process.execPath, ['--input-type=module', '-e', script(b)], { encoding: 'utf8' }).stdout.trim());
    const held = run(true);
    const free = run(false);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(2 * MiB);
    expect(free).toBeGreaterThan(held * 2);
    // the entry's only static import is boot; the program comes after, dynamically
    const entry = readFileSync(fileURLToPath(new URL('../../dist/cli.js', import.meta.url)), 'utf8');
    expect(entry.match(/^import .*$/gm)).toEqual(["import './memory/boot.js';"]);
    expect(entry).toContain("await import('./cli-main.js')");
  });
});

describe('heap tuning against V8 itself', () => {
  it('under pressure, a churn of promoted objects peaks at a much smaller heap', () => {
    const mod = fileURLToPath(new URL('../../dist/memory/heap-tuning.js', import.meta.url));
    const script = `
      import { HeapTuning } from ${JSON.stringify(mod)};
      if (process.argv.includes('tight')) new HeapTuning(null).check('warning');
      const live = [];
      let peak = 0;
      for (let round = 0; round < 150; round++) {
        const batch = [];
        for (let i = 0; i < 20000; i++) batch.push({ a: i, b: 'y' + i, c: [i, i] });
        live.push(batch);
        if (live.length > 10) live.shift();
        peak = Math.max(peak, process.memoryUsage().heapTotal);
      }
      console.log(peak);`;
    const run = (arg: string) => Number(spawnSync(process.execPath, ['--input-type=module', '-e', script, arg], { encoding: 'utf8' }).stdout.trim());
    const tight = run('tight');
    const loose = run('loose');
    expect(tight).toBeGreaterThan(0);
    expect(tight).toBeLessThan(loose * 0.8);
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
    // and glibc accepts the fixed mmap threshold it sets when loaded
    const addon = createRequire(import.meta.url)('../../native/build/Release/cordon_trim.node') as { mmapThreshold: (n: number) => boolean };
    expect(addon.mmapThreshold(128 * 1024)).toBe(true);
  });
});
