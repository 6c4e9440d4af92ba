// GET /control/policy: the loaded rules with their hit counts.
import type { Router } from '../router.js';
import { sendJson } from '../reply.js';
import type { PolicyEngine } from '../../policy/types.js';

export function registerPolicyRoutes(router: Router, engine: PolicyEngine, info: { preset: string; mode: string }): void {
  router.get('/control/policy', ({ res }) => {
    sendJson(res, 200, { preset: info.preset, mode: info.mode, rules: engine.rules() });
  });
}
