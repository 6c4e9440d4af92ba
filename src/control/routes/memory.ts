// GET /control/memory (SPEC.md): the budget, the sampled RSS, the pressure level and what each
// component holds, with `unattributed` as its own line; with ?top=N, the N streams holding the most.
import type { MemoryGovernor } from '../../memory/governor.js';
import type { StreamAccounts } from '../../memory/streams.js';
import { sendError, sendJson } from '../reply.js';
import type { Router } from '../router.js';

/** The most rows ?top may ask for: the listing sorts every stream, so it stays an operator's tool. */
export const TOP_MAX = 1000;

export function registerMemoryRoutes(router: Router, governor: MemoryGovernor, streams?: StreamAccounts): void {
  router.get('/control/memory', ({ res, query }) => {
    const topParam = query.get('top');
    let top = 0;
    if (topParam !== null) {
      top = /^\d{1,9}$/.test(topParam) ? Number(topParam) : NaN;
      if (!(top >= 1 && top <= TOP_MAX)) {
        sendError(res, 400, 'invalid_request', 'invalid_top', `top must be an integer from 1 to ${TOP_MAX}`);
        return;
      }
    }
    // A fresh reading: an operator asking "why is memory high" wants now, not up to a second ago.
    governor.sampleNow();
    const body: Record<string, unknown> = { ...governor.snapshot() };
    if (top > 0) body.streams = streams ? streams.top(top) : [];
    sendJson(res, 200, body);
  });
}
