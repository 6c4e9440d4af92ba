// Provider keys kept from agents: `upstreams[].api_key_env` names the environment variable that
// holds the operator's credential for that upstream, sent as `auth_header` (Authorization: Bearer,
// or x-api-key) in place of whatever credential the client sent. The secret is read once at load
// and kept as a non-enumerable property, so it never shows in a logged or serialised config.
import type { Config } from '../config/schema.js';
import type { UpstreamCredential } from '../proxy/headers.js';

const kSecret = Symbol('cordon.upstream.secret');
type WithSecret = { [kSecret]?: string };

/** The variables named by `api_key_env` that are unset or empty, as `path: message` lines. */
export function unsetKeyEnvs(cfg: Config, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  cfg.upstreams.forEach((u, i) => {
    if (u.api_key_env !== undefined && !env[u.api_key_env]) out.push(`upstreams[${i}].api_key_env: ${u.api_key_env} is not set`);
  });
  return out;
}

/** Reads each upstream's operator credential from `env`; returns the problems (unset variables). */
export function attachProviderKeys(cfg: Config, env: NodeJS.ProcessEnv): string[] {
  const problems = unsetKeyEnvs(cfg, env);
  for (const u of cfg.upstreams) {
    const v = u.api_key_env === undefined ? undefined : env[u.api_key_env];
    if (v) Object.defineProperty(u, kSecret, { value: v, enumerable: false, configurable: true });
  }
  return problems;
}

// The client's cordon key is dropped from what goes upstream: the backend has no use for it.
const DROP_AUTHORIZATION: UpstreamCredential = { drop: 1, name: null, value: '' };
const DROP_X_API_KEY: UpstreamCredential = { drop: 2, name: null, value: '' };

/** An upstream's operator credential rule, or null when the client's credential passes through. */
export function operatorCredential(u: Config['upstreams'][number]): UpstreamCredential | null {
  const secret = (u as WithSecret)[kSecret];
  if (secret === undefined) return null;
  return u.auth_header === 'x-api-key'
    ? { drop: 3, name: 'x-api-key', value: secret }
    : { drop: 3, name: 'authorization', value: `Bearer ${secret}` };
}

/** The rule for one request: the upstream's, else drop the header that carried a cordon key. */
export function requestCredential(upstream: UpstreamCredential | null, keyHeader: 'authorization' | 'x-api-key' | null): UpstreamCredential | null {
  if (upstream !== null) return upstream;
  if (keyHeader === null) return null;
  return keyHeader === 'authorization' ? DROP_AUTHORIZATION : DROP_X_API_KEY;
}
