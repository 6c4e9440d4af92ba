// The command line (loaded by cli.ts once boot flags are set): parses arguments and hands a validated config to the composition root.
// Every usage or configuration problem exits 2 with one line per problem and no stack trace.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, readConfigText, type StartFlags } from './config/load.js';
import { checkPolicy, presetRules } from './policy/index.js';
import { checkToolRules, engineRules } from './tools/index.js';
import { formatHostPort, parseHostPort } from './config/units.js';
import { createLogger } from './log.js';
import { startGateway, StartError } from './gateway.js';
import { unsetKeyEnvs } from './auth/upstream-auth.js';
import { registerOpsCommands } from './ops/commands.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function fail(lines: string[]): never {
  for (const l of lines) process.stderr.write(`cordon: ${l}\n`);
  process.exit(2);
}

function reportAndExit(err: unknown): never {
  if (err instanceof ConfigError) fail(err.problems);
  if (err instanceof StartError) fail([err.message]);
  const e = err as { message?: string; name?: string };
  // Parts throw typed errors with a message meant for the operator (StorageError, TLS errors, ...).
  fail([e?.message ?? String(err)]);
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(): Command {
  const program = new Command('cordon')
    .description('A session border controller for AI agent traffic')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `cordon: ${s.slice(7)}` : s) });

  program.command('start')
    .description('run the gateway until SIGTERM/SIGINT, then drain and exit 0')
    .option('--config <file>', 'YAML config file')
    .option('--listen <host:port>', 'proxy listener (default 127.0.0.1:8080)')
    .option('--control-listen <host:port>', 'control API, metrics and dashboard (default 127.0.0.1:9090)')
    .option('--control-allowed-hosts <names>', 'comma-separated names the control listener answers to besides its address and localhost')
    .option('--upstream <url>', 'backend base URL; repeat for a load-balanced pool (env CORDON_UPSTREAM)', collect)
    .option('--data-dir <dir>', 'directory of the SQLite store (default ./data)')
    // Named values are checked by the config schema, not commander: commander stops at the first bad
    // one, the schema reports every problem (flag, env and file alike), one line each.
    .option('--profile <name>', 'memory profile: high-density, standard or forensics (default standard)')
    .option('--policy <name>', 'rule preset: off, minimal, standard or strict (default standard)')
    .option('--mode <name>', 'enforce, or audit: rules only flag (default enforce)')
    .option('--memory-limit <size>', 'global memory budget, e.g. 256MB (default 75% of the host/cgroup limit, at most 1GiB)')
    .option('--redis <url>', 'fleet mode: share sessions, kills and limits through Redis')
    .option('--max-body <size>', 'request body limit (default 10MB)')
    .option('--stream-buffer <size>', 'bytes one stream may hold before the other side is not read (default 64KiB, 4KiB to the memory limit)')
    .option('--hold-response-max <size>', 'a whole JSON answer is held up to this until the policy read it (default 1MiB)')
    .option('--drain-timeout <duration>', 'how long SIGTERM waits for in-flight requests (default 10s)')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace or silent (default info)')
    .action(async (flags: StartFlags) => {
      let cfg;
      // The file's text is kept for the config hash; a reload reads it again with the same flags and env.
      const configFile = flags.config ?? process.env.CORDON_CONFIG;
      let configText: string | undefined;
      try {
        configText = configFile ? readConfigText(configFile) : undefined;
        cfg = await loadConfig({ flags, env: process.env, fileText: configText });
      } catch (err) {
        reportAndExit(err);
      }
      const configSource = configFile ? {
        read: async () => {
          const text = readConfigText(configFile);
          return { cfg: await loadConfig({ flags, env: process.env, fileText: text }), text };
        },
      } : undefined;
      const log = createLogger(cfg.log_level);
      let gw;
      try {
        gw = await startGateway(cfg, { log, controlToken: process.env.CORDON_CONTROL_TOKEN, configText, configSource });
      } catch (err) {
        reportAndExit(err);
      }
      log.info({ proxy: gw.proxyAddress, control: gw.controlAddress, upstreams: cfg.upstreams.map((u) => u.url.href), profile: cfg.profile, policy: cfg.policy.preset, mode: cfg.mode }, 'cordon listening');
      const stop = (signal: string) => {
        log.info({ signal }, 'shutdown requested');
        gw.shutdown().then(() => process.exit(0), (err: Error) => { log.error({ err: err.message }, 'shutdown failed'); process.exit(1); });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => { void gw.reloader.reload(); });
    });

  program.command('check-config')
    .description('validate a config file; exit 0, or exit 2 with every error as `path: message`')
    .argument('<file>', 'YAML config file')
    .action(async (file: string) => {
      try {
        const text = readConfigText(file);
        // The file alone must be complete: env and flags are not consulted here.
        const cfg = await loadConfig({ flags: { config: file }, env: {}, fileText: text, allowUnsetKeyEnv: true });
        checkPolicy(presetRules(cfg.policy.preset), engineRules(cfg.policy.rules));
        checkToolRules(cfg);
        // a provider key's variable is the running environment's business: named here, not an error
        for (const w of unsetKeyEnvs(cfg, process.env)) process.stderr.write(`warning: ${w}\n`);
      } catch (err) {
        reportAndExit(err);
      }
      process.stdout.write(`${file}: ok\n`);
    });

  program.command('mock-llm')
    .description('a bundled OpenAI- and Anthropic-compatible mock backend (for the demo, tests and benchmarks)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8081')
    .action(async (opts: { listen: string }) => {
      const hp = parseHostPort(opts.listen);
      if (!hp) fail([`--listen: not HOST:PORT (got "${opts.listen}")`]);
      const log = createLogger('info', 'cordon-mock');
      try {
        // Loaded here, not at the top: `cordon start` never pays for the mock (nor for `ws`, which only it uses).
        const { startMock } = await import('./mock/server.js');
        const { server, address } = await startMock(hp);
        log.info({ listen: formatHostPort({ host: address.address, port: address.port }) }, 'mock LLM listening');
        const stop = () => server.close(() => process.exit(0));
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        fail([`--listen ${opts.listen}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`]);
      }
    });

  program.command('demo')
    .description('mock LLM + gateway + dashboard on loopback, offline; prints the URLs and a curl to try')
    .option('--listen <host:port>', 'proxy listener', '127.0.0.1:8080')
    .option('--control-listen <host:port>', 'control API and dashboard', '127.0.0.1:9090')
    .option('--no-traffic', 'do not run the pretend agents that keep the dashboard busy')
    .action(async (opts: { listen: string; controlListen: string; traffic: boolean }) => {
      try {
        const { runDemo } = await import('./demo.js');
        await runDemo(opts);
      } catch (err) {
        reportAndExit(err);
      }
    });

  registerOpsCommands(program, { CORDON_CONTROL_URL: process.env.CORDON_CONTROL_URL, CORDON_CONTROL_TOKEN: process.env.CORDON_CONTROL_TOKEN });

  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
      process.exit(2);
    }
    reportAndExit(err);
  }
}

process.on('uncaughtException', (err) => {
  process.stderr.write(`cordon: internal error: ${err.message}\n`);
  process.exit(70);
});

void main();
