import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { PassThrough } from 'node:stream';
import { createServer } from 'node:net';
import { Command } from 'commander';
import { registerOpsCommands, type OpsIO } from '../../src/ops/commands.js';
import { ENTER_SCREEN, LEAVE_SCREEN } from '../../src/ops/top.js';
import { TOKEN_REFUSED } from '../../src/ops/client.js';
import { startFakeControl, session, type FakeControl } from './fake-control.js';

const TOKEN = 's3cret';

interface Run { code: number; out: string; err: string }

async function cli(args: string[], env: { CORDON_CONTROL_URL?: string; CORDON_CONTROL_TOKEN?: string }, terminal?: { input: PassThrough; output: PassThrough & { isTTY?: boolean } }): Promise<Run> {
  let out = '';
  let err = '';
  let code = -1;
  const io: OpsIO = { out: (t) => { out += `${t}\n`; }, err: (t) => { err += `${t}\n`; } };
  const program = new Command().exitOverride();
  registerOpsCommands(program, env, { io, exit: (c) => { code = c; }, terminal });
  await program.parseAsync(args, { from: 'user' });
  return { code, out, err };
}

describe('ops CLI against a control API', () => {
  let fake: FakeControl;
  let env: { CORDON_CONTROL_URL: string; CORDON_CONTROL_TOKEN: string };
  beforeEach(async () => {
    fake = await startFakeControl(TOKEN, [
      session('agent-1', { requests: 12 }),
      session('agent-2', { state: 'killed', bytes_out: 3 * 2 ** 20 }),
      session('a-session-with-a-rather-long-identifier-that-gets-cut-in-the-table'),
    ]);
    env = { CORDON_CONTROL_URL: fake.url, CORDON_CONTROL_TOKEN: TOKEN };
  });
  afterEach(() => fake.close());

  it('sessions prints an aligned table and sends the bearer token', async () => {
    const r = await cli(['sessions'], env);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATE\s+UPSTREAM\s+CLIENT\s+REQS\s+IN\s+OUT\s+FLAGS\s+AGENT\s+TOKENS\s+COST\s+AGE\s+SEEN$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^agent-1\s+active\s+http:\/\/127\.0\.0\.1:1\s+127\.0\.0\.1\s+12\s+2\.0 KiB\s+9\.8 KiB\s+0\s+-\s+-\s+-\s+1m\s+1m$/);
    expect(lines[3]).toContain('…');
    // columns line up: STATE starts at the same offset on every line
    const col = lines[0].indexOf('STATE');
    for (const l of lines.slice(1)) expect(l.slice(col, col + 6)).toMatch(/^(active|killed)/);
    expect(fake.requests.every((q) => q.auth === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('sessions --state killed --json filters and prints JSON', async () => {
    const r = await cli(['sessions', '--state', 'killed', '--json'], env);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out);
    expect(body.sessions.map((s: { id: string }) => s.id)).toEqual(['agent-2']);
    expect(fake.requests.at(-1)!.url).toContain('state=killed');
  });

  it('sessions --limit follows the cursor and stops at the limit', async () => {
    for (let i = 0; i < 1200; i++) fake.sessions.push(session(`bulk-${i}`));
    const r = await cli(['sessions', '--limit', '1100', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).sessions).toHaveLength(1100);
    expect(fake.requests.length).toBe(3); // 500 + 500 + 100
    expect(fake.requests[2].url).toContain('limit=100');
  });

  it('bad options exit 2 with one line', async () => {
    const r = await cli(['sessions', '--state', 'weird'], env);
    expect(r.code).toBe(2);
    expect(r.err).toBe('cordon: --state must be one of active, idle, killed, terminated, completed (got "weird")\n');
    await expect(cli(['sessions', '--limit', 'x'], env)).rejects.toThrow(/positive integer/);
  });

  it('kill and resume change the state, and print it', async () => {
    let r = await cli(['kill', 'agent-1'], env);
    expect(r).toEqual({ code: 0, out: 'agent-1: killed\n', err: '' });
    expect(fake.sessions[0].state).toBe('killed');
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', url: '/control/sessions/agent-1/kill' });
    r = await cli(['resume', 'agent-1', '--json'], env);
    expect(JSON.parse(r.out)).toEqual({ id: 'agent-1', state: 'active' });
  });

  it('a malformed ID is refused before any request, exit 2', async () => {
    const r = await cli(['kill', 'bad id/../x'], env);
    expect(r.code).toBe(2);
    expect(r.err).toContain('not a session ID');
    expect(fake.requests).toHaveLength(0);
  });

  it('stats prints totals and memory by component', async () => {
    const r = await cli(['stats'], env);
    expect(r.code).toBe(0);
    expect(r.out).toContain('sessions  active 2  total 3  killed 1');
    expect(r.out).toContain('requests  total 42  blocked 2');
    expect(r.out).toContain('pressure normal');
    expect(r.out).toMatch(/unattributed\s+90\.0 MiB/);
    const j = await cli(['stats', '--json'], env);
    expect(JSON.parse(j.out).stats.requests.total).toBe(42);
  });

  it('a wrong or missing token gives the clear message and exit 2', async () => {
    for (const e of [{ ...env, CORDON_CONTROL_TOKEN: 'wrong' }, { CORDON_CONTROL_URL: fake.url }]) {
      const r = await cli(['stats'], e);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`cordon: ${TOKEN_REFUSED}\n`);
      expect(r.out).toBe('');
    }
  });

  it('--url and --token override the environment', async () => {
    const r = await cli(['kill', 'x1', '--url', fake.url, '--token', TOKEN], { CORDON_CONTROL_URL: 'http://127.0.0.1:1' });
    expect(r.code).toBe(0);
  });

  it('an unknown session ID can be killed in advance', async () => {
    expect((await cli(['kill', 'nobody-yet'], env)).code).toBe(0);
  });

  it('top draws frames on the alternate screen, quits on q and restores the terminal', async () => {
    const input = new PassThrough();
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 30 });
    let written = '';
    output.on('data', (d) => (written += d.toString()));
    const done = cli(['top', '--interval', '50'], env, { input, output });
    await new Promise((r) => setTimeout(r, 300));
    input.write('q');
    const r = await done;
    expect(r.code).toBe(0);
    expect(written.startsWith(ENTER_SCREEN)).toBe(true);
    expect(written.endsWith(LEAVE_SCREEN)).toBe(true);
    expect(written).toContain('cordon top');
    expect(written).toContain('agent-1');
    expect(written).toMatch(/pressure NORMAL/);
    expect(written.split('cordon top').length - 1).toBeGreaterThanOrEqual(2); // redrawn
    expect(written).not.toMatch(/[^\r]\n/); // raw-mode safe line ends
  });

  it('top leaves with the token message when the token is refused, terminal restored', async () => {
    const input = new PassThrough();
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 30 });
    let written = '';
    output.on('data', (d) => (written += d.toString()));
    const r = await cli(['top'], { CORDON_CONTROL_URL: fake.url, CORDON_CONTROL_TOKEN: 'nope' }, { input, output });
    expect(r.code).toBe(2);
    expect(r.err).toBe(`cordon: ${TOKEN_REFUSED}\n`);
    expect(written).toBe(ENTER_SCREEN + LEAVE_SCREEN);
  });
});

describe('ops CLI without a reachable control API', () => {
  it('connection refused is one clear line, exit 1', async () => {
    // a port that was free a moment ago: bind, read it, close
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const r = await cli(['sessions'], { CORDON_CONTROL_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.err).toBe(`cordon: cannot reach the control API at http://127.0.0.1:${port}: connection refused (is cordon running? set CORDON_CONTROL_URL)\n`);
  });

  it('a bad URL exits 2', async () => {
    const r = await cli(['stats'], { CORDON_CONTROL_URL: 'not a url' });
    expect(r.code).toBe(2);
    expect(r.err).toBe('cordon: CORDON_CONTROL_URL is not a URL: "not a url"\n');
  });
});
