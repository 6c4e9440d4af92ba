// Benchmark-only endpoints (config `debug_endpoints: true`): measure heap bytes allocated over an
// interval with v8.GCProfiler. Allocated ≈ Σ(used before GC − used after GC) + net growth.
import v8 from 'node:v8';
import type { Router } from '../router.js';
import { sendError, sendJson } from '../reply.js';

interface GcStat { beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }

export function registerDebugRoutes(router: Router): void {
  let profiler: v8.GCProfiler | null = null;
  let startUsed = 0;
  router.post('/control/debug/alloc/start', ({ res }) => {
    profiler?.stop();
    profiler = new v8.GCProfiler();
    startUsed = v8.getHeapStatistics().used_heap_size;
    profiler.start();
    sendJson(res, 200, { started: true });
  });
  router.post('/control/debug/alloc/stop', ({ res }) => {
    if (profiler === null) return sendError(res, 409, 'invalid_request', 'not_started', 'POST /control/debug/alloc/start first');
    const endUsed = v8.getHeapStatistics().used_heap_size;
    const result = profiler.stop() as unknown as { statistics: GcStat[] };
    profiler = null;
    let freed = 0;
    for (const s of result.statistics) freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    sendJson(res, 200, { allocated_bytes: freed + (endUsed - startUsed), gcs: result.statistics.length });
  });
}
