// POST /control/reload: re-reads the config file (src/config/reload.ts). 200 with what changed,
// or 422 with every problem as `path: message` when the file fails validation (nothing changed).
import type { Router } from '../router.js';
import { sendJson } from '../reply.js';
import type { Reloader } from '../../config/reload.js';

export function registerReloadRoute(router: Router, reloader: Reloader): void {
  router.post('/control/reload', async ({ res }) => {
    const r = await reloader.reload();
    if (r.ok) {
      sendJson(res, 200, {
        reloaded: true, config_hash: r.hash, reloads: r.reloads, changed: r.changed,
        restart_required: r.restart_required, prepare_ms: r.prepare_ms, swap_ms: r.swap_ms, loop_delay_max_ms: r.loop_delay_max_ms,
      });
      return;
    }
    const n = r.problems.length;
    sendJson(res, 422, {
      error: {
        message: `the config file has ${n} problem${n === 1 ? '' : 's'}; nothing changed: ${r.problems.join('; ')}`,
        type: 'invalid_request', code: 'invalid_config',
      },
      problems: r.problems,
    });
  });
}
