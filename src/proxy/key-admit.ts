// The key check that HTTP exchanges and WebSocket upgrades share: who the request's key says it is
// (401 invalid_api_key, or 403 agent_killed), from memory: a Map lookup and an array read. Whether
// the session is that agent's is an admission check of the gate (spend/wire.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyRecord } from '../auth/keys.js';
import type { ProxyContext } from './context.js';
import { ERR, type ProxyError } from '../errors/index.js';

export interface KeyGrant {
  key: KeyRecord | null;
  /** the header that carried a cordon key (dropped before the upstream), or null */
  header: 'authorization' | 'x-api-key' | null;
  /** the agent's number, 0 for none */
  agent: number;
}

const ANONYMOUS: KeyGrant = { key: null, header: null, agent: 0 };

export function checkKey(ctx: ProxyContext, headers: IncomingHttpHeaders): KeyGrant | ProxyError {
  const cred = ctx.auth.check(headers);
  if (cred.kind === 'key') {
    const agent = ctx.spend.agents.number(cred.record.agent, cred.record.team);
    if (ctx.spend.agents.isKilled(agent)) return ERR.agentKilled();
    return { key: cred.record, header: cred.header, agent };
  }
  // Keys optional: an unknown or malformed credential may be the upstream's own and passes on;
  // a revoked cordon key never does.
  if (cred.kind === 'bad' ? ctx.auth.required || cred.why === 'revoked' : ctx.auth.required) {
    return ERR.invalidKey(cred.kind === 'bad' ? cred.why : 'missing');
  }
  return ANONYMOUS;
}

export function isGrant(x: KeyGrant | ProxyError): x is KeyGrant {
  return (x as ProxyError).status === undefined;
}
