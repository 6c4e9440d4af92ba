import { describe, expect, it } from 'vitest';
import { EventBus, type GatewayEvent, type SessionEvent } from '../../src/events.js';
import { LocalFleet, LocalHub } from '../../src/fleet/index.js';
import { SessionGate, type AdmitFacts } from '../../src/sessions/gate.js';
import { SessionTable } from '../../src/sessions/table.js';
import { ERR, isProxyError, type ProxyError } from '../../src/errors/index.js';
import { Metrics } from '../../src/control/metrics.js';

function setup(opts: { max?: number; hub?: LocalHub } = {}) {
  const bus = new EventBus();
  const events: SessionEvent[] = [];
  bus.subscribe((e: GatewayEvent) => { if (e.kind === 'session') events.push(e); });
  const table = new SessionTable({ upstreams: ['u'], idleTimeoutMs: 60_000, completeAfterMs: 60_000, bus, max: opts.max });
  const fleet = new LocalFleet({ hub: opts.hub });
  const gate = new SessionGate({ table, fleet });
  const ended: [number, string][] = [];
  gate.onEnd((slot, reason) => ended.push([slot, reason]));
  return { bus, events, table, fleet, gate, ended };
}

const facts = (id: string, extra: Partial<AdmitFacts> = {}): AdmitFacts => ({ id, clientIp: '10.0.0.1', bytesIn: 10, nowMs: Date.now(), ...extra });

describe('SessionGate.admit', () => {
  it('admits a new session and counts the request', () => {
    const { gate, table } = setup();
    const slot = gate.admit(facts('a'));
    expect(typeof slot).toBe('number');
    expect(table.get('a')?.requests).toBe(1);
  });

  it('refuses a killed, a terminated, a full table and a fleet that refuses, with the catalog errors', async () => {
    const { gate, fleet } = setup({ max: 2 });
    await gate.end('k', 'killed', 'operator');
    expect(gate.admit(facts('k'))).toEqual(ERR.killed());
    const t = gate.admit(facts('t')) as number;
    gate.terminate(t, 'rule-x');
    expect(gate.admit(facts('t'))).toEqual(ERR.terminated());
    expect(gate.admit(facts('third'))).toEqual(ERR.noSlot());
    fleet.admit = () => false;
    await gate.end('k', 'active', 'operator');
    expect(gate.admit(facts('k'))).toEqual(ERR.fleetDown());
  });

  it('runs added checks in order after the kill state, with the request facts', async () => {
    const { gate } = setup();
    const seen: string[] = [];
    const agentKilled: ProxyError = { status: 403, type: 'session_killed', code: 'agent_killed', message: 'the agent was killed' };
    gate.addCheck((f) => { seen.push(`1:${f.agent}`); return f.agent === 'bad' ? agentKilled : null; });
    gate.addCheck(() => { seen.push('2'); return null; });
    expect(typeof gate.admit(facts('a', { agent: 'good' }))).toBe('number');
    expect(gate.admit(facts('b', { agent: 'bad' }))).toBe(agentKilled);
    expect(seen).toEqual(['1:good', '2', '1:bad']);
    await gate.end('c', 'killed', 'operator');
    expect(isProxyError(gate.admit(facts('c', { agent: 'bad' })))).toBe(true);
    expect(seen).toHaveLength(3); // a killed session is refused before the checks run
  });

  it('precheck refuses while draining and at critical pressure', () => {
    let level: 'normal' | 'critical' = 'normal';
    const table = new SessionTable({ upstreams: ['u'], idleTimeoutMs: 60_000, completeAfterMs: 60_000 });
    const gate = new SessionGate({ table, fleet: new LocalFleet(), pressure: () => level });
    expect(gate.precheck()).toBeNull();
    level = 'critical';
    expect(gate.precheck()).toEqual(ERR.overloaded());
    gate.draining = true;
    expect(gate.precheck()).toEqual(ERR.draining());
  });
});

describe('SessionGate.end', () => {
  it('kills: one event, in-flight work ended, the fleet told once (its echo changes nothing)', async () => {
    const { gate, events, ended, fleet } = setup();
    const slot = gate.admit(facts('a')) as number;
    let told = 0;
    fleet.onKill(() => { told++; });
    const view = await gate.end('a', 'killed', 'operator');
    expect(view?.state).toBe('killed');
    expect(events.filter((e) => e.type === 'killed')).toHaveLength(1);
    expect(ended.filter(([s]) => s === slot).length).toBeGreaterThanOrEqual(1);
    expect(told).toBe(1);
    expect(fleet.killState('a')).toBe('killed');
  });

  it("a rule's terminate reaches the other instances, and theirs is not sent back", async () => {
    const hub = new LocalHub();
    const one = setup({ hub });
    const two = setup({ hub });
    await one.fleet.start();
    await two.fleet.start();
    const s1 = one.gate.admit(facts('x')) as number;
    two.gate.admit(facts('x'));
    one.gate.terminate(s1, 'rule-a');
    await new Promise((r) => setImmediate(r));
    expect(two.table.get('x')?.state).toBe('terminated');
    expect(two.table.get('x')?.reason).toBe('fleet');
    expect(one.table.get('x')?.reason).toBe('rule-a');
    expect(one.events.filter((e) => e.type === 'terminated')).toHaveLength(1);
    expect(two.events.filter((e) => e.type === 'terminated')).toHaveLength(1);
  });

  it('a change from another instance is published with origin fleet and counted as kills{source="fleet"}', async () => {
    const hub = new LocalHub();
    const one = setup({ hub });
    const two = setup({ hub });
    const metrics = new Metrics({ processMetrics: false });
    metrics.attachBus(two.bus);
    await one.fleet.start();
    await two.fleet.start();
    two.gate.admit(facts('k'));
    const s = one.gate.admit(facts('t')) as number;
    two.gate.admit(facts('t'));
    await one.gate.end('k', 'killed', 'operator');
    one.gate.terminate(s, 'rule-a');
    await new Promise((r) => setImmediate(r));
    expect(one.events.filter((e) => e.type === 'killed' || e.type === 'terminated').map((e) => e.origin)).toEqual([undefined, undefined]);
    expect(two.events.filter((e) => e.type === 'killed' || e.type === 'terminated').map((e) => [e.type, e.origin])).toEqual([['killed', 'fleet'], ['terminated', 'fleet']]);
    const t = await metrics.scrape();
    expect(t).toContain('cordon_kills_total{source="fleet"} 2');
    expect(t).not.toMatch(/cordon_kills_total\{source="(operator|rule)"\} [1-9]/);
  });

  it('resume lifts a kill here and in the fleet', async () => {
    const { gate, fleet, events } = setup();
    gate.admit(facts('a'));
    await gate.end('a', 'killed', 'operator');
    await gate.end('a', 'active', 'operator');
    expect(gate.admit(facts('a'))).toBeTypeOf('number');
    expect(fleet.killState('a')).toBeNull();
    expect(events.filter((e) => e.type === 'resumed')).toHaveLength(1);
  });

  it('endWhere ends every live session the predicate picks, and only those', async () => {
    const { gate, table, ended } = setup();
    const agentOf = new Map<string, string>([['a1', 'A'], ['a2', 'A'], ['b1', 'B']]);
    for (const id of agentOf.keys()) gate.admit(facts(id));
    const n = gate.endWhere((id) => agentOf.get(id) === 'A', 'killed', 'agent', 'agent A');
    expect(n).toBe(2);
    expect(table.get('a1')?.state).toBe('killed');
    expect(table.get('a2')?.reason).toBe('agent A');
    expect(table.get('b1')?.state).toBe('active');
    expect(ended.map(([, r]) => r)).toEqual(['session_killed', 'session_killed']);
    // already killed: not counted again
    expect(gate.endWhere((id) => agentOf.get(id) === 'A', 'killed', 'agent')).toBe(0);
  });

  it('restores kills from storage before the first request', () => {
    const { gate } = setup();
    const n = gate.restore({ loadKills: () => [{ id: 'old', state: 'killed', at: Date.now() - 1000 }, { id: 'ter', state: 'terminated', at: Date.now() }] });
    expect(n).toBe(2);
    expect(gate.admit(facts('old'))).toEqual(ERR.killed());
    expect(gate.admit(facts('ter'))).toEqual(ERR.terminated());
  });
});
