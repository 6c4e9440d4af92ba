// /control/keys (SPEC.md "Agents, keys and spend"): create (the key is shown once), list without
// secrets, revoke.
import type { Router } from '../control/router.js';
import { readJsonBody } from '../control/read-json.js';
import { sendError, sendJson } from '../control/reply.js';
import { newKeySchema } from '../config/spend-schema.js';
import { formatIssues } from '../config/load.js';
import type { KeyRecord } from './keys.js';
import type { Auth } from './service.js';

export function registerKeyRoutes(router: Router, auth: Auth): void {
  router.post('/control/keys', async ({ req, res }) => {
    const body = await readJsonBody(req);
    if (!body.ok) return sendError(res, body.status, 'invalid_request', body.status === 413 ? 'request_too_large' : 'invalid_json', body.message);
    const parsed = newKeySchema.safeParse(body.value);
    if (!parsed.success) return sendError(res, 400, 'invalid_request', 'invalid_key_request', formatIssues(parsed.error.issues).join('; '));
    const made = auth.create(parsed.data);
    sendJson(res, 201, { id: made.id, key: made.key, agent: made.record.agent, ...(made.record.team ? { team: made.record.team } : {}) });
  });

  router.get('/control/keys', ({ res }) => {
    sendJson(res, 200, { keys: auth.list().map(keyView) });
  });

  router.add('DELETE', '/control/keys/:id', ({ res, params }) => {
    if (!auth.revoke(params.id)) return sendError(res, 404, 'not_found', 'unknown_key', `no live key with id "${params.id}"`);
    sendJson(res, 200, { id: params.id, revoked: true });
  });
}

export function keyView(k: KeyRecord): object {
  return {
    id: k.id, agent: k.agent, team: k.team, budget: k.budget, tools: k.tools, source: k.source,
    created_at: new Date(k.created_at).toISOString(),
  };
}
