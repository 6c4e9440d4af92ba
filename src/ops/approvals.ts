// `cordon approvals`, `cordon approve ID`, `cordon deny ID`: tool calls held for an operator.
import type { Command } from 'commander';
import { OpsError, type ControlClient } from './client.js';
import { table } from './format.js';
import type { OpsIO } from './commands.js';

interface ApprovalRow {
  id: string; session_id: string; agent: string | null; tool: string; arguments_excerpt: string;
  rule: string; at: string; expires_at: string;
}

const ID_RE = /^ap_[A-Za-z0-9_-]{1,64}$/;

async function guard(io: OpsIO, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    io.err(`cordon: ${(err as Error)?.message ?? String(err)}`);
    return err instanceof OpsError ? err.exitCode : 1;
  }
}

export function approvalsCommand(client: ControlClient, opts: { json?: boolean }, io: OpsIO, now = Date.now()): Promise<number> {
  return guard(io, async () => {
    const r = await client.get<{ approvals: ApprovalRow[] }>('/control/approvals');
    if (!Array.isArray(r.approvals)) throw new OpsError('bad_response', 'control API answered /control/approvals without an approvals list', 1);
    if (opts.json) io.out(JSON.stringify(r));
    else if (r.approvals.length === 0) io.out('no tool calls waiting for approval');
    else {
      io.out(table(r.approvals, [
        { title: 'ID', value: (a) => a.id },
        { title: 'SESSION', value: (a) => a.session_id, max: 40 },
        { title: 'TOOL', value: (a) => a.tool, max: 32 },
        { title: 'ARGUMENTS', value: (a) => a.arguments_excerpt, max: 60 },
        { title: 'RULE', value: (a) => a.rule, max: 32 },
        { title: 'EXPIRES', value: (a) => `${Math.max(0, Math.round((Date.parse(a.expires_at) - now) / 1000))}s`, align: 'right' },
      ]));
    }
    return 0;
  });
}

export function decideCommand(client: ControlClient, action: 'approve' | 'deny', id: string, opts: { json?: boolean }, io: OpsIO): Promise<number> {
  return guard(io, async () => {
    if (!ID_RE.test(id)) throw new OpsError('bad_input', `not an approval ID: "${id}" (ap_ followed by letters, digits, _ or -)`, 2);
    const r = await client.post<{ id: string; state: string }>(`/control/approvals/${encodeURIComponent(id)}/${action}`);
    io.out(opts.json ? JSON.stringify(r) : `${r.id}: ${r.state}`);
    return 0;
  });
}

export function registerApprovalCommands(
  program: Command,
  common: (cmd: Command) => Command,
  run: (o: { url?: string; token?: string }, fn: (c: ControlClient) => Promise<number>) => Promise<void>,
  io: OpsIO,
): void {
  common(program.command('approvals')
    .description('list tool calls waiting for an operator\'s approval')
    .option('--json', 'print JSON instead of a table'))
    .action((o: { json?: boolean; url?: string; token?: string }) => run(o, (c) => approvalsCommand(c, o, io)));
  for (const action of ['approve', 'deny'] as const) {
    common(program.command(`${action} <id>`)
      .description(action === 'approve' ? 'let a held tool call go on unchanged' : 'refuse a held tool call (the agent gets approval_denied)')
      .option('--json', 'print JSON'))
      .action((id: string, o: { json?: boolean; url?: string; token?: string }) => run(o, (c) => decideCommand(c, action, id, o, io)));
  }
}
