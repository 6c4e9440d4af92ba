// The ops commands: `cordon sessions | kill | resume | stats | top`, as functions that return an
// exit code, and registerOpsCommands() that adds them to the CLI's commander program.
//
// Exit codes: 0 done; 1 the operation failed (control API unreachable, session not found, server
// error); 2 fix the invocation or its settings (bad option, malformed ID, token refused).
import { SESSION_ID_RULE, validSessionId } from '../sessions/identity.js';
import { InvalidArgumentError, type Command } from 'commander';
import type { SessionView } from '../sessions/types.js';
import { ControlClient, OpsError, type ControlEnv, type FetchLike } from './client.js';
import { sessionColumns, statsText, table, type MemoryView, type SessionsPage, type StatsView } from './format.js';
import { runTop, type TopTerminal } from './top.js';
import { registerApprovalCommands } from './approvals.js';
import { agentActionCommand, agentsCommand, missingId } from './agents.js';
import { guarded, type OpsIO } from './guard.js';

export type { OpsIO } from './guard.js';


export const stdio: OpsIO = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export const SESSION_STATES = ['active', 'idle', 'killed', 'terminated', 'completed'] as const;
const PAGE_MAX = 500;


function checkId(id: string): void {
  if (!validSessionId(id)) throw new OpsError('bad_input', `not a session ID: "${id}" (${SESSION_ID_RULE})`, 2);
}

export interface SessionsOptions {
  state?: string;
  limit?: number;
  json?: boolean;
}

/** `cordon sessions [--state S] [--limit N] [--json]`: follows next_cursor until N sessions. */
export function sessionsCommand(client: ControlClient, opts: SessionsOptions, io: OpsIO, now = Date.now()): Promise<number> {
  return guarded(io, async () => {
    const limit = opts.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw new OpsError('bad_input', `--limit must be a positive integer (got ${opts.limit})`, 2);
    if (opts.state !== undefined && !(SESSION_STATES as readonly string[]).includes(opts.state)) {
      throw new OpsError('bad_input', `--state must be one of ${SESSION_STATES.join(', ')} (got "${opts.state}")`, 2);
    }
    const sessions: SessionView[] = [];
    let cursor: string | null | undefined;
    do {
      const q = new URLSearchParams();
      if (opts.state) q.set('state', opts.state);
      q.set('limit', String(Math.min(PAGE_MAX, limit - sessions.length)));
      if (cursor) q.set('cursor', cursor);
      const page = await client.get<SessionsPage>(`/control/sessions?${q}`);
      if (!Array.isArray(page.sessions)) throw new OpsError('bad_response', 'control API answered /control/sessions without a sessions list', 1);
      sessions.push(...page.sessions.slice(0, limit - sessions.length));
      cursor = page.next_cursor;
    } while (cursor && sessions.length < limit);
    if (opts.json) io.out(JSON.stringify({ sessions }));
    else if (sessions.length === 0) io.out(opts.state ? `no ${opts.state} sessions` : 'no sessions');
    else io.out(table(sessions, sessionColumns(now)));
    return 0;
  });
}

/** `cordon kill ID` / `cordon resume ID`. */
export function sessionActionCommand(client: ControlClient, action: 'kill' | 'resume', id: string, opts: { json?: boolean }, io: OpsIO): Promise<number> {
  return guarded(io, async () => {
    checkId(id);
    const r = await client.post<{ id: string; state: string }>(`/control/sessions/${encodeURIComponent(id)}/${action}`);
    io.out(opts.json ? JSON.stringify(r) : `${r.id}: ${r.state}`);
    return 0;
  });
}

/** `cordon stats [--json]`: /control/stats and the memory components of /control/memory. */
export function statsCommand(client: ControlClient, opts: { json?: boolean }, io: OpsIO): Promise<number> {
  return guarded(io, async () => {
    const [stats, memory] = await Promise.all([
      client.get<StatsView>('/control/stats'),
      // a gateway without the memory endpoint still has stats to show
      client.get<MemoryView>('/control/memory').catch((err: unknown) => {
        if (err instanceof OpsError && err.code === 'not_found') return undefined;
        throw err;
      }),
    ]);
    io.out(opts.json ? JSON.stringify({ stats, memory }) : statsText(stats, memory));
    return 0;
  });
}

/** `cordon top`: a live view until q / Ctrl-C. */
export function topCommand(client: ControlClient, opts: { interval?: number }, term: TopTerminal, io: OpsIO): Promise<number> {
  return guarded(io, () => runTop(client, term, { intervalMs: opts.interval ?? 1000 }));
}

/** The environment the CLI passes in: CORDON_CONTROL_URL and CORDON_CONTROL_TOKEN. */
export interface OpsEnv {
  CORDON_CONTROL_URL?: string;
  CORDON_CONTROL_TOKEN?: string;
}

export interface OpsDeps {
  io?: OpsIO;
  fetch?: FetchLike;
  terminal?: TopTerminal;
  /** called with the exit code of each command; default sets process.exitCode */
  exit?: (code: number) => void;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/**
 * Adds `sessions`, `kill`, `resume`, `stats` and `top` to the program. `env` is read by the
 * caller (config owns env); `--url`/`--token` on a command override it.
 */
export function registerOpsCommands(program: Command, env: OpsEnv, deps: OpsDeps = {}): void {
  const io = deps.io ?? stdio;
  const exit = deps.exit ?? ((code: number) => { process.exitCode = code; });
  const client = (o: { url?: string; token?: string }): ControlClient | number => {
    try {
      const ce: ControlEnv = { url: o.url ?? env.CORDON_CONTROL_URL, token: o.token ?? env.CORDON_CONTROL_TOKEN };
      return new ControlClient(ce, deps.fetch);
    } catch (err) {
      io.err(`cordon: ${(err as Error).message}`);
      return 2;
    }
  };
  const run = async (o: { url?: string; token?: string }, fn: (c: ControlClient) => Promise<number>) => {
    const c = client(o);
    exit(typeof c === 'number' ? c : await fn(c));
  };
  const common = (cmd: Command) => cmd
    .option('--url <url>', 'control API base URL (default: CORDON_CONTROL_URL or http://127.0.0.1:9090)')
    .option('--token <token>', 'control API token (default: CORDON_CONTROL_TOKEN)');

  common(program.command('sessions')
    .description('list sessions from the control API')
    .option('--state <state>', `only sessions in this state (${SESSION_STATES.join(', ')})`)
    .option('--limit <n>', 'at most this many sessions', positiveInt, 100)
    .option('--json', 'print JSON instead of a table'))
    .action((o: SessionsOptions & { url?: string; token?: string }) => run(o, (c) => sessionsCommand(c, o, io)));

  for (const action of ['kill', 'resume'] as const) {
    common(program.command(`${action} [id]`)
      .description(action === 'kill' ? 'kill a session (or with --agent every session of an agent): its streams end now and later requests get 403' : 'resume a killed or terminated session (or with --agent an agent)')
      .option('--agent <name>', `${action} an agent instead of one session`)
      .option('--json', 'print JSON'))
      .action((id: string | undefined, o: { json?: boolean; agent?: string; url?: string; token?: string }) => run(o, (c) => (o.agent !== undefined
        ? agentActionCommand(c, action, o.agent, id, o, io)
        : id === undefined ? missingId(io) : sessionActionCommand(c, action, id, o, io))));
  }

  common(program.command('agents')
    .description('agents (from API keys): state, sessions, requests, tokens and cost')
    .option('--json', 'print JSON instead of a table'))
    .action((o: { json?: boolean; url?: string; token?: string }) => run(o, (c) => agentsCommand(c, o, io)));

  common(program.command('stats')
    .description('gateway totals and memory by component')
    .option('--json', 'print JSON'))
    .action((o: { json?: boolean; url?: string; token?: string }) => run(o, (c) => statsCommand(c, o, io)));

  common(program.command('top')
    .description('live view of sessions and memory (q or Ctrl-C quits)')
    .option('--interval <ms>', 'refresh interval in milliseconds', positiveInt, 1000))
    .action((o: { interval?: number; url?: string; token?: string }) => run(o, (c) => topCommand(c, o, deps.terminal ?? processTerminal(), io)));

  registerApprovalCommands(program, common, run, io);
}

function processTerminal(): TopTerminal {
  return { input: process.stdin, output: process.stdout };
}
