// GET /control/policy: the loaded rules with their hit counts and, with a reloader wired, which
// config is in force (its hash and how many reloads applied since start).
import type { Router } from '../router.js';
import { sendJson } from '../reply.js';
import type { PolicyEngine } from '../../policy/types.js';

/** What a config reload replaces: read at each request. */
export interface LivePolicy {
  engine(): PolicyEngine;
  preset(): string;
  mode(): string;
  reload(): { count: number; hash: string };
}

export function registerPolicyRoutes(router: Router, engine: PolicyEngine, info: { preset: string; mode: string }, live?: LivePolicy): void {
  router.get('/control/policy', ({ res }) => {
    if (live === undefined) {
      sendJson(res, 200, { preset: info.preset, mode: info.mode, rules: engine.rules() });
      return;
    }
    const r = live.reload();
    sendJson(res, 200, { preset: live.preset(), mode: live.mode(), rules: live.engine().rules(), reloads: r.count, config_hash: r.hash });
  });
}
