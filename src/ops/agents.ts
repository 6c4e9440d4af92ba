// `cordon agents`, `cordon kill --agent NAME`, `cordon resume --agent NAME`.
import { ControlClient, OpsError } from './client.js';
import { table, usd, type Column } from './format.js';
import { guarded, type OpsIO } from './guard.js';

const AGENT_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface AgentRow {
  agent: string;
  team: string | null;
  state: string;
  sessions: number;
  requests: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
}

const AGENT_COLUMNS: Column<AgentRow>[] = [
  { title: 'AGENT', value: (a) => a.agent, max: 40 },
  { title: 'TEAM', value: (a) => a.team ?? '-' },
  { title: 'STATE', value: (a) => a.state },
  { title: 'SESSIONS', value: (a) => String(a.sessions), align: 'right' },
  { title: 'REQS', value: (a) => String(a.requests), align: 'right' },
  { title: 'TOK IN', value: (a) => String(a.tokens_in), align: 'right' },
  { title: 'TOK OUT', value: (a) => String(a.tokens_out), align: 'right' },
  { title: 'COST', value: (a) => usd(a.cost_usd), align: 'right' },
];

export function agentsCommand(client: ControlClient, opts: { json?: boolean }, io: OpsIO): Promise<number> {
  return guarded(io, async () => {
    const r = await client.get<{ agents: AgentRow[] }>('/control/agents');
    if (!Array.isArray(r.agents)) throw new OpsError('bad_response', 'control API answered /control/agents without an agents list', 1);
    const rows = [...r.agents].sort((a, b) => b.cost_usd - a.cost_usd);
    if (opts.json) io.out(JSON.stringify({ agents: rows }));
    else io.out(rows.length === 0 ? 'no agents (agents come from API keys)' : table(rows, AGENT_COLUMNS));
    return 0;
  });
}

export function agentActionCommand(client: ControlClient, action: 'kill' | 'resume', agent: string, id: string | undefined, opts: { json?: boolean }, io: OpsIO): Promise<number> {
  return guarded(io, async () => {
    if (id !== undefined) throw new OpsError('bad_input', `give a session ID or --agent, not both`, 2);
    if (!AGENT_RE.test(agent)) throw new OpsError('bad_input', `not an agent name: "${agent}" (1-64 characters of A-Z a-z 0-9 . _ : -)`, 2);
    const r = await client.post<{ agent: string; state: string }>(`/control/agents/${encodeURIComponent(agent)}/${action}`);
    io.out(opts.json ? JSON.stringify(r) : `agent ${r.agent}: ${r.state}`);
    return 0;
  });
}

export function missingId(io: OpsIO): Promise<number> {
  io.err('cordon: give a session ID, or --agent NAME');
  return Promise.resolve(2);
}
