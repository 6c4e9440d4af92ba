// GET /control/memory (SPEC.md): the budget, the sampled RSS, the pressure level and what each
// component holds, with `unattributed` as its own line.
import type { MemoryGovernor } from '../../memory/governor.js';
import { sendJson } from '../reply.js';
import type { Router } from '../router.js';

export function registerMemoryRoutes(router: Router, governor: MemoryGovernor): void {
  router.get('/control/memory', ({ res }) => {
    // A fresh reading: an operator asking "why is memory high" wants now, not up to a second ago.
    governor.sampleNow();
    sendJson(res, 200, governor.snapshot());
  });
}
