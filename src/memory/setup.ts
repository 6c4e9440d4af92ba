// One call that builds memory/ from the validated config, for src/gateway.ts: the start-up floor
// check, the governor, the actions registry with the actions memory/ owns (per-stream limit and
// resets, shrink heap), and the per-stream accounts. Parts then register their components and add
// their own actions.
import type { Config } from '../config/schema.js';
import { PressureActions } from './actions.js';
import { MemoryGovernor } from './governor.js';
import { checkMemoryLimit } from './minimum.js';
import { ExternalGarbageWatch, HeapShrinker } from './shrink-heap.js';
import type { MemoryLog } from './types.js';
import { HeapTuning, youngGenerationCapFor } from './heap-tuning.js';
import { growthHeldAtBoot } from './boot.js';
import { addStreamActions, type StreamResetter } from './overload.js';
import { StreamAccounts } from './streams.js';

export interface Memory {
  governor: MemoryGovernor;
  actions: PressureActions;
  /** every stream's account: the `buffers` component, the per-stream limit */
  streams: StreamAccounts;
  resetter: StreamResetter;
  shrinker: HeapShrinker;
  heapTuning: HeapTuning;
}

/** Throws MemoryLimitError (one line for the CLI, exit 2) when the limit is below what cordon needs. */
export function createMemory(cfg: Pick<Config, 'memory_limit' | 'memory' | 'limits'>, log: MemoryLog): Memory {
  checkMemoryLimit(cfg.memory_limit);
  const governor = new MemoryGovernor({
    limitBytes: cfg.memory_limit,
    warning: cfg.memory.warning,
    critical: cfg.memory.critical,
    sampleIntervalMs: cfg.memory.sample_interval,
    log,
  });
  const streams = new StreamAccounts(cfg.limits.stream_buffer);
  governor.register('buffers', streams);
  const actions = new PressureActions(governor, log);
  const resetter = addStreamActions(actions, governor, streams, log);
  const shrinker = new HeapShrinker();
  actions.add('shrink_heap', {
    level: 'warning',
    enter: () => { shrinker.reset(); shrinker.shrink(); },
    tick: () => { shrinker.shrink(); },
  });
  let settled = false;
  const externalWatch = new ExternalGarbageWatch(cfg.memory_limit, () => shrinker.collect());
  governor.onSample((level) => {
    if (!settled) {
      settled = true;
      shrinker.settle(); // at the first sample, once listening (start())
    }
    // under pressure shrink_heap collects already
    if (level === 'normal' && shrinker.available) externalWatch.check(governor.externalBytes);
  });
  if (!shrinker.trims) log.info({}, 'memory: malloc_trim addon not built (native/); native memory is returned to the OS only by glibc itself');
  const cap = youngGenerationCapFor(cfg.memory_limit);
  // First checked at the governor's first sample (start(), once listening): start-up keeps the
  // new space boot.ts held small.
  const heapTuning = new HeapTuning(cap, { heldAtBoot: growthHeldAtBoot() });
  governor.onSample((level) => heapTuning.check(level));
  if (cap !== null) log.info({ new_space_cap_bytes: cap }, `memory: V8 young generation capped at ${Math.round(cap / 1048576)} MiB for this budget`);
  return { governor, actions, streams, resetter, shrinker, heapTuning };
}
