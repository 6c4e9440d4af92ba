// Builds one validated Config from, in order of precedence: CLI flags > CORDON_* env > YAML file > defaults.
// Nothing else in the program reads process.env; it is passed in here.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import os from 'node:os';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { ConfigError } from './errors.js';
import { attachProviderKeys } from '../auth/upstream-auth.js';
import { rawPatternProblems } from '../policy/compile.js';

export { ConfigError };

/** Flags as commander hands them over (camelCase), already split by the CLI. */
export interface StartFlags {
  config?: string;
  listen?: string;
  controlListen?: string;
  upstream?: string[];
  dataDir?: string;
  profile?: string;
  policy?: string;
  mode?: string;
  memoryLimit?: string;
  redis?: string;
  maxBody?: string;
  streamBuffer?: string;
  holdResponseMax?: string;
  drainTimeout?: string;
  logLevel?: string;
  controlAllowedHosts?: string;
}

type Obj = Record<string, unknown>;

/** Each flag, its env name and where it lands in the raw config. */
const SETTINGS: ReadonlyArray<{ flag: keyof StartFlags; env: string; path: string[] }> = [
  { flag: 'listen', env: 'CORDON_LISTEN', path: ['listen'] },
  { flag: 'controlListen', env: 'CORDON_CONTROL_LISTEN', path: ['control_listen'] },
  { flag: 'dataDir', env: 'CORDON_DATA_DIR', path: ['data_dir'] },
  { flag: 'profile', env: 'CORDON_PROFILE', path: ['profile'] },
  { flag: 'policy', env: 'CORDON_POLICY', path: ['policy', 'preset'] },
  { flag: 'mode', env: 'CORDON_MODE', path: ['mode'] },
  { flag: 'memoryLimit', env: 'CORDON_MEMORY_LIMIT', path: ['memory_limit'] },
  { flag: 'redis', env: 'CORDON_REDIS', path: ['redis'] },
  { flag: 'maxBody', env: 'CORDON_MAX_BODY', path: ['max_body'] },
  { flag: 'streamBuffer', env: 'CORDON_STREAM_BUFFER', path: ['limits', 'stream_buffer'] },
  { flag: 'holdResponseMax', env: 'CORDON_HOLD_RESPONSE_MAX', path: ['policy', 'hold_response_max'] },
  { flag: 'drainTimeout', env: 'CORDON_DRAIN_TIMEOUT', path: ['drain_timeout'] },
  { flag: 'logLevel', env: 'CORDON_LOG_LEVEL', path: ['log_level'] },
  { flag: 'controlAllowedHosts', env: 'CORDON_CONTROL_ALLOWED_HOSTS', path: ['control', 'allowed_hosts'] },
];

function setPath(obj: Obj, path: string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[path[i]] = {};
    cur = cur[path[i]] as Obj;
  }
  cur[path[path.length - 1]] = value;
}

/** The largest config file read; a bigger one (or an endless device such as /dev/zero) is refused. */
export const CONFIG_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Reads a config file, at most CONFIG_MAX_BYTES: `readFile('/dev/zero')` never ends and grows
 * memory until the process dies. Pipes (/dev/stdin) still work. Throws ConfigError `FILE: ...`.
 */
export function readConfigText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  try {
    const buf = Buffer.allocUnsafe(CONFIG_MAX_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > CONFIG_MAX_BYTES) throw new ConfigError([`${file}: larger than ${CONFIG_MAX_BYTES / 1024 / 1024}MiB; not a config file?`]);
    }
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  } finally {
    closeSync(fd);
  }
}

/** Parses YAML text; syntax errors come back with line and column. */
export function parseYaml(text: string, file: string): Obj {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      return `${where}: ${yamlFailure(e)}`;
    }));
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // The yaml library refuses alias bombs here; a deeply nested document overflows its recursion.
    throw new ConfigError([`${file}: ${yamlFailure(err)}`]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${file}: the top level must be a mapping of settings`]);
  }
  return value as Obj;
}

/** One line for a YAML failure; the engine's own words for stack exhaustion mean nothing to an operator. */
function yamlFailure(err: unknown): string {
  const msg = String((err as { message?: unknown })?.message ?? err).split('\n')[0];
  if (err instanceof RangeError || /call stack/i.test(msg)) return 'nested too deeply';
  if (/alias count/i.test(msg)) return 'too many alias expansions (a YAML alias bomb?)';
  return msg;
}

/** Formats a zod path the way SPEC.md shows it: policy.rules[2].action */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) lines.push(`${path ? `${path}.` : ''}${k}: unknown key`);
      continue;
    }
    let msg = issue.message;
    if (issue.code === 'invalid_value' && 'values' in issue) {
      msg = `must be one of ${(issue.values as unknown[]).map(String).join(', ')}`;
    } else if (issue.code === 'invalid_type') {
      msg = issue.input === undefined ? 'is required' : `expected ${issue.expected}`;
    }
    lines.push(path ? `${path}: ${msg}` : msg);
  }
  return lines;
}

/** 75% of the cgroup (or host) memory limit, capped at 1GiB: SPEC.md's default. */
export function defaultMemoryLimit(): number {
  let limit = os.totalmem();
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const raw = readFileSync(file, 'utf8').trim();
      const n = Number(raw);
      if (raw !== 'max' && Number.isFinite(n) && n > 0 && n < limit) limit = n;
      break;
    } catch {
      // not in a cgroup that says; fall back to the host figure
    }
  }
  return Math.min(Math.floor(limit * 0.75), 1024 ** 3);
}

export interface LoadInput {
  flags: StartFlags;
  env: NodeJS.ProcessEnv;
  /** the YAML text, when the caller read it already (check-config) */
  fileText?: string;
  /** check-config: an `api_key_env` naming an unset variable is a warning there, not an error */
  allowUnsetKeyEnv?: boolean;
}

/** Validates a raw object; throws ConfigError with every problem at once. */
export function validate(raw: Obj): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const policy = raw.policy as { rules?: unknown } | undefined;
    throw new ConfigError([...formatIssues(result.error.issues), ...rawPatternProblems(policy?.rules)]);
  }
  const cfg = result.data as Config;
  if (cfg.memory_limit === undefined) cfg.memory_limit = defaultMemoryLimit();
  if (cfg.limits.stream_buffer > cfg.memory_limit) {
    throw new ConfigError([`limits.stream_buffer: must be at most the memory limit (${cfg.memory_limit} bytes)`]);
  }
  return cfg;
}

export async function loadConfig(input: LoadInput): Promise<Config> {
  const { flags, env } = input;
  const configFile = flags.config ?? env.CORDON_CONFIG;
  let raw: Obj = {};
  if (configFile) {
    let text = input.fileText;
    if (text === undefined) {
      text = readConfigText(configFile);
    }
    raw = parseYaml(text, configFile);
  }
  for (const s of SETTINGS) {
    const v = flags[s.flag] ?? env[s.env];
    if (v !== undefined && v !== '') setPath(raw, s.path, v);
  }
  const ups = flags.upstream?.length ? flags.upstream : env.CORDON_UPSTREAM?.split(/[\s,]+/).filter(Boolean);
  if (ups?.length) raw.upstreams = ups.map((url) => ({ url }));
  const cfg = validate(raw);
  const unset = attachProviderKeys(cfg, env);
  if (unset.length > 0 && !input.allowUnsetKeyEnv) throw new ConfigError(unset);
  return cfg;
}
