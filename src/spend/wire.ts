// Builds the keys and spend parts and wires them to the rest: storage (keys and agent kills kept
// in SQLite), the fleet (changes that every instance must apply), the session table (the spend
// fields of a session view) and the control routes. gateway.ts calls this once.
//
// Fleet: key changes and agent kills ride the fleet's kill channel under reserved IDs that no
// session can have (`@` and `/` are not session ID characters): `@agent/NAME` killed or active,
// `@key-/SHA256` revoked, `@key+/SHA256/RECORD` a key created at run time. That channel already
// stores the state in Redis, publishes it, and re-reads it on reconnect and when a message was
// missed, so every instance applies a revocation or an agent kill within its resync bound (1s).
import type { Config } from '../config/schema.js';
import type { Reconfigurable } from '../config/reload.js';
import type { FleetSessionState, FleetState } from '../fleet/types.js';
import type { Router } from '../control/router.js';
import type { KeyTables } from '../storage/keys.js';
import type { SessionTable } from '../sessions/table.js';
import type { FleetPort, SessionGate } from '../sessions/gate.js';
import { ERR } from '../errors/index.js';
import { Spend } from './service.js';
import { registerAgentRoutes } from './routes.js';
import type { KeyRecord } from '../auth/keys.js';
import { registerKeyRoutes } from '../auth/routes.js';
import { Auth } from '../auth/service.js';

const AGENT = '@agent/';
const KEY_ADD = '@key+/';
const KEY_REVOKE = '@key-/';

export interface WireDeps {
  cfg: Config;
  tables: KeyTables | null;
  sessions: SessionTable;
  gate: SessionGate;
  fleet: FleetState;
  log: { warn(obj: object, msg: string): void };
}

export interface KeysAndSpend {
  auth: Auth;
  spend: Spend;
  registerRoutes(router: Router): void;
  killAgent(agent: string): Promise<void>;
  resumeAgent(agent: string): Promise<void>;
}

export function wireKeysAndSpend(d: WireDeps): KeysAndSpend {
  const auth = new Auth(d.cfg, d.tables);
  const spend = new Spend(d.cfg, d.sessions);
  d.sessions.setExtension(spend);
  spend.fleet = d.fleet.budgets ?? null;

  // A session belongs to the agent whose key opened it: another agent's key, or none, is refused.
  d.gate.addCheck((f, slot) => {
    const agent = f.agent == null ? 0 : spend.agents.names.find(f.agent);
    const owner = d.sessions.agentOf(slot);
    if (owner !== agent) {
      if (owner !== 0 || agent === 0) return ERR.forbidden();
      d.sessions.setAgent(slot, agent);
      spend.agents.sessionOpened(agent);
    }
    if (agent !== 0) spend.agents.request(agent);
    return null;
  });

  // Agent kills survive a restart: restored before the first request.
  for (const k of d.tables?.agentKills() ?? []) spend.agents.setKilled(k.agent, true);

  const applyAgent = (agent: string, killed: boolean): void => {
    const was = spend.agents.killedAgents().includes(agent);
    spend.agents.setKilled(agent, killed);
    if (was !== killed) {
      try {
        d.tables?.setAgentKill(agent, killed, Date.now());
      } catch (err) {
        d.log.warn({ agent, err: (err as Error).message }, 'could not store the agent kill; it holds until restart');
      }
    }
    if (!killed) return;
    const n = spend.agents.names.find(agent);
    if (n === 0) return;
    d.gate.endWorkWhere((_id, slot) => d.sessions.agentOf(slot) === n, 'agent_killed');
  };

  // Local changes go to the fleet; LocalFleet hands them straight back through onKill.
  auth.onChange((c) => {
    const id = c.op === 'revoke' ? KEY_REVOKE + c.hash : `${KEY_ADD}${c.hash}/${Buffer.from(JSON.stringify(c.record)).toString('base64url')}`;
    d.fleet.kill(id).catch(() => undefined);
  });

  const onFleetKill = (id: string, state: FleetSessionState): boolean => {
    if (!isReservedId(id)) return false;
    if (id.startsWith(AGENT)) applyAgent(id.slice(AGENT.length), state !== 'active');
    else if (id.startsWith(KEY_REVOKE) && state !== 'active') auth.apply({ op: 'revoke', hash: id.slice(KEY_REVOKE.length) });
    else if (id.startsWith(KEY_ADD) && state !== 'active') {
      const rest = id.slice(KEY_ADD.length);
      const slash = rest.indexOf('/');
      const rec = decodeRecord(rest.slice(slash + 1));
      if (slash === 64 && rec !== null) auth.apply({ op: 'add', hash: rest.slice(0, 64), record: rec });
    }
    return true;
  };

  d.fleet.onKill((id, state) => { onFleetKill(id, state); });

  const killAgent = async (agent: string): Promise<void> => {
    applyAgent(agent, true); // here at once, whatever the fleet does
    await d.fleet.kill(AGENT + agent);
  };
  const resumeAgent = async (agent: string): Promise<void> => {
    applyAgent(agent, false);
    await d.fleet.resume(AGENT + agent);
  };

  return {
    auth, spend, killAgent, resumeAgent,
    registerRoutes(router) {
      registerKeyRoutes(router, auth);
      registerAgentRoutes(router, spend, { kill: killAgent, resume: resumeAgent });
    },
  };
}

function decodeRecord(s: string): KeyRecord | null {
  try {
    const r = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as KeyRecord;
    return typeof r.id === 'string' && typeof r.agent === 'string' ? r : null;
  } catch {
    return null;
  }
}

/** A reserved ID on the fleet's kill channel (a key change or an agent kill), never a session's. */
export function isReservedId(id: string): boolean {
  return id.charCodeAt(0) === 0x40; // '@' is not a session ID character
}

/** The fleet as the session gate sees it: kill-channel messages of sessions only. */
export function sessionsOnly(fleet: FleetState): FleetPort {
  return {
    admit: () => fleet.admit(),
    record: (id, r, i, o, t, now) => fleet.record(id, r, i, o, t, now),
    kill: (id, state) => fleet.kill(id, state),
    resume: (id) => fleet.resume(id),
    onKill: (fn) => fleet.onKill((id, state) => { if (!isReservedId(id)) fn(id, state); }),
    restoreKills: (kills) => fleet.restoreKills(kills),
  };
}

/** The config reload's part for keys, teams, prices and cost rules (config/reload.ts). */
export function keysPart(k: KeysAndSpend): Reconfigurable {
  const costRules = (c: Config) => c.policy.rules.filter((r) => r.metric === 'cost_usd');
  const same = (a: Config, b: Config) => JSON.stringify([a.auth, a.teams, a.pricing, costRules(a)]) === JSON.stringify([b.auth, b.teams, b.pricing, costRules(b)]);
  return {
    prepare(next, prev) {
      if (same(next, prev)) return null;
      return () => {
        k.auth.reconfigure(next);
        k.spend.reconfigure(next);
      };
    },
  };
}
