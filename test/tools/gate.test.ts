import { describe, expect, it } from 'vitest';
import { Approvals } from '../../src/tools/approvals.js';
import { ToolGate } from '../../src/tools/gate.js';
import { ToolLists } from '../../src/tools/lists.js';

const gate = (lists: ToolLists | null) => new ToolGate({
  lists, rules: { hold: [], descriptions: [], loops: [] }, approvals: new Approvals({ timeoutMs: 1000, maxPerSession: 1 }),
  mode: 'enforce', excerptBytes: 200, holdBytes: 1 << 20,
});
const body = () => ({ model: 'm', messages: [], tools: ['search_web', 'read_file', 'shell'].map((name) => ({ type: 'function', function: { name } })) });
const names = (b: Buffer) => (JSON.parse(b.toString()) as { tools: Array<{ function: { name: string } }> }).tools.map((t) => t.function.name);

describe('per-key tool lists', () => {
  it('a key narrows the global lists and never widens them', () => {
    const g = gate(ToolLists.compile({ deny: ['shell'] }, 'policy.tools'));
    const keyTools = { allow: ['search_*', 'shell'] };
    const r = g.request(body(), { sessionId: 's', agent: 'a', keyLists: g.keyLists(keyTools) })!;
    expect(names(r.body!)).toEqual(['search_web']);
    expect(g.keyLists(keyTools)).toBe(g.keyLists(keyTools)); // compiled once per key record
    expect(g.request(body(), { sessionId: 's', agent: null, keyLists: null })!.body).not.toBeNull();
  });

  it('a gate there only for keys reads only the requests of keys with lists of their own', () => {
    const g = gate(null);
    expect(g.wants(null)).toBe(false);
    expect(g.wants(undefined)).toBe(false);
    expect(g.wants({ allow: ['search_*'] })).toBe(true);
    expect(gate(ToolLists.compile({ deny: ['shell'] }, 'policy.tools')).wants(null)).toBe(true);
  });

  it('a key whose globs do not compile gets no tools (fail closed)', () => {
    const g = gate(null);
    const r = g.request(body(), { sessionId: 's', agent: 'a', keyLists: g.keyLists({ allow: ['bad['] }) })!;
    expect((JSON.parse(r.body!.toString()) as { tools?: unknown }).tools).toBeUndefined();
  });

  it('an MCP tools/call refused by a key list gets the JSON-RPC error', () => {
    const g = gate(null);
    const r = g.request({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'shell', arguments: {} } }, { sessionId: 's', agent: 'a', keyLists: g.keyLists({ deny: ['sh*'] }) })!;
    expect(JSON.parse(r.answer!)).toMatchObject({ id: 4, error: { data: { type: 'policy_violation' } } });
  });
});
