// Starts the real built binary (dist/cli.js) on free loopback ports and tears it down.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  /** every stdout line parsed as JSON where it parses */
  logs: Array<Record<string, unknown>>;
  stderr: string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function track(child: ChildProcess): Proc {
  const logs: Array<Record<string, unknown>> = [];
  let buf = '';
  const proc: Proc = {
    child,
    logs,
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return proc.exited;
    },
  };
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try { logs.push(JSON.parse(line) as Record<string, unknown>); } catch { logs.push({ text: line }); }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { proc.stderr += d; });
  return proc;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, CORDON_UPSTREAM: '', CORDON_CONTROL_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child);
}

/** Waits for a log line matching `msg`, or fails with what the process printed. */
export async function waitForLog(p: Proc, msg: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = p.logs.find((l) => l.msg === msg);
    if (found) return found;
    if (p.child.exitCode !== null) throw new Error(`process exited ${p.child.exitCode} before "${msg}": ${p.stderr}`);
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line in ${timeoutMs}ms; stderr: ${p.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface MockProc extends Proc { url: string; address: string }

export async function startMockLlm(): Promise<MockProc> {
  const p = runCli(['mock-llm', '--listen', '127.0.0.1:0']);
  const line = await waitForLog(p, 'mock LLM listening');
  const address = String(line.listen);
  return Object.assign(p, { address, url: `http://${address}` });
}

export interface GatewayProc extends Proc { proxy: string; control: string }

export async function startGateway(args: string[], env: NodeJS.ProcessEnv = {}): Promise<GatewayProc> {
  // Each gateway gets a fresh data dir unless the test names one (kills persist across runs).
  const dataDir = args.includes('--data-dir') ? [] : ['--data-dir', mkdtempSync(join(tmpdir(), 'cordon-test-data-'))];
  const p = runCli(['start', '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', ...dataDir, ...args], env);
  const line = await waitForLog(p, 'cordon listening');
  return Object.assign(p, { proxy: `http://${String(line.proxy)}`, control: `http://${String(line.control)}` });
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runToExit(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // its own working directory, so a command that falls back to ./data never writes into the checkout
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: mkdtempSync(join(tmpdir(), 'cordon-cli-cwd-')),
    env: { ...process.env, CORDON_UPSTREAM: '', CORDON_CONTROL_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
