// /control/agents (SPEC.md "Agents, keys and spend"): per-agent use, and kill/resume by agent.
import type { Router } from '../control/router.js';
import { sendError, sendJson } from '../control/reply.js';
import type { Spend } from './service.js';

const NAME_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface AgentActions {
  kill(agent: string): Promise<void>;
  resume(agent: string): Promise<void>;
}

export function registerAgentRoutes(router: Router, spend: Spend, act: AgentActions): void {
  router.get('/control/agents', ({ res }) => {
    sendJson(res, 200, { agents: spend.agents.list() });
  });

  router.get('/control/agents/:agent', ({ res, params }) => {
    const a = spend.agents.get(params.agent);
    if (a === undefined) return sendError(res, 404, 'not_found', 'unknown_agent', `no agent "${params.agent}"`);
    sendJson(res, 200, a);
  });

  for (const action of ['kill', 'resume'] as const) {
    router.post(`/control/agents/:agent/${action}`, async ({ res, params }) => {
      const agent = params.agent;
      if (!NAME_RE.test(agent)) return sendError(res, 400, 'invalid_request', 'invalid_agent', 'an agent name is 1-64 characters of A-Z a-z 0-9 . _ : -');
      try {
        await act[action](agent);
      } catch {
        // applied here already; the fleet store catches up when it is back
      }
      sendJson(res, 200, { agent, state: action === 'kill' ? 'killed' : 'active' });
    });
  }
}
