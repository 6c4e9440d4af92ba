// Spawns a private redis-server for a test file: a free port on 127.0.0.1, no persistence
// (`--save "" --appendonly no`), and helpers to stop, kill and restart it on the same port.
// When redis-server is not installed the tests skip with a message, except under CI=true,
// where a missing server is a failure (CI must run them).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

const BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export function redisServerAvailable(): boolean {
  const r = spawnSync(BIN, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** For `describe.skipIf(...)`: true means skip. Throws under CI=true when the server is missing. */
export function skipWithoutRedis(): boolean {
  if (redisServerAvailable()) return false;
  if (process.env.CI === 'true') {
    throw new Error(`${BIN} is not installed, and CI=true requires the Redis fleet tests to run`);
  }
  console.warn(`SKIPPING Redis tests: ${BIN} is not installed (install redis-server to run them)`);
  return true;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

export class RedisServer {
  private proc: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const s = new RedisServer(await freePort());
    await s.restart();
    return s;
  }

  get url(): string { return `redis://127.0.0.1:${this.port}`; }
  get running(): boolean { return this.proc !== null; }

  /** Starts (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.proc) return;
    const proc = spawn(BIN, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'no', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
    this.proc = proc;
    proc.once('exit', () => { if (this.proc === proc) this.proc = null; });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.proc !== proc) throw new Error(`redis-server exited at start: ${stderr.trim()}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not accept connections on ${this.port} within 10s`);
  }

  /** SIGTERM and wait for the exit. */
  stop(): Promise<void> { return this.signal('SIGTERM'); }

  /** SIGKILL: the crash case. */
  kill(): Promise<void> { return this.signal('SIGKILL'); }

  private signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc) return Promise.resolve();
    return new Promise((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(sig);
    });
  }
}
