// /control/approvals: tool calls held for an operator's decision (SPEC "Tools"). Listing, approve
// and deny go through the Approvals registry (tools/approvals.ts), which in fleet mode decides
// through Redis so that the instance holding the call releases it.
import type { Router } from '../router.js';
import { sendError, sendJson } from '../reply.js';
import type { Approvals } from '../../tools/index.js';

const ID_RE = /^ap_[A-Za-z0-9_-]{1,64}$/;

export function registerApprovalRoutes(router: Router, approvals: Approvals): void {
  router.get('/control/approvals', async ({ res }) => {
    sendJson(res, 200, { approvals: await approvals.list() });
  });
  for (const action of ['approve', 'deny'] as const) {
    router.post(`/control/approvals/:id/${action}`, async ({ res, params }) => {
      const id = params.id;
      if (!ID_RE.test(id)) return sendError(res, 404, 'not_found', 'approval_not_found', `no pending approval ${JSON.stringify(id.slice(0, 80))}`);
      let r;
      try {
        r = await approvals.decide(id, action === 'approve' ? 'approved' : 'denied');
      } catch {
        return sendError(res, 503, 'unavailable', 'fleet_unavailable', 'the fleet store is unreachable; the decision was not recorded, retry');
      }
      if (r === 'unknown') return sendError(res, 404, 'not_found', 'approval_not_found', `no pending approval ${id}`);
      if (r === 'expired') return sendError(res, 409, 'conflict', 'approval_expired', `approval ${id} timed out and was denied`);
      if (r === 'decided') return sendError(res, 409, 'conflict', 'approval_decided', `approval ${id} was already decided`);
      sendJson(res, 200, { id, state: action === 'approve' ? 'approved' : 'denied' });
    });
  }
}
