// A fake memory sampler and clock: tests set RSS and time by hand.
import type { MemorySample } from '../../src/memory/types.js';

export const MiB = 1024 * 1024;

export class FakeMemory {
  rss = 0;
  heapUsed = 10 * MiB;
  t = 1_700_000_000_000;
  readonly sampler = (): MemorySample => ({ rss: this.rss, heapUsed: this.heapUsed, heapTotal: 2 * this.heapUsed, external: 0 });
  readonly now = (): number => this.t;
}

export function recordingLog() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const rec = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj, msg }); };
  return { lines, log: { info: rec('info'), warn: rec('warn'), error: rec('error') } };
}
