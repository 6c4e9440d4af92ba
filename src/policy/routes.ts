// GET /control/policy: the loaded rules with their hit counts.
import type { Router } from '../control/router.js';
import { sendJson } from '../control/reply.js';
import type { PolicyEngine } from './types.js';

export function registerPolicyRoutes(router: Router, engine: PolicyEngine, info: { preset: string; mode: string }): void {
  router.get('/control/policy', ({ res }) => {
    sendJson(res, 200, { preset: info.preset, mode: info.mode, rules: engine.rules() });
  });
}
