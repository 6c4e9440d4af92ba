// A config reload swaps the tools part: new lists apply to the next request, a bad glob refuses the
// reload (422, nothing changes), and a call held before the reload is still decided after it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type GatewayProc, type MockProc } from '../helpers/procs.js';

const file = join(mkdtempSync(join(tmpdir(), 'cordon-tools-reload-')), 'c.yaml');
const config = (deny: string) => `policy:\n  preset: off\n  tools:\n    deny: ['${deny}']\n  rules:\n    - name: hold-shell\n      target: tool_call\n      patterns: ['rm\\s+-rf']\n      action: hold\n`;
let mock: MockProc;
let gw: GatewayProc;

beforeAll(async () => {
  writeFileSync(file, config('delete_*'));
  mock = await startMockLlm();
  gw = await startGateway(['--upstream', `${mock.url}/v1`, '--config', file]);
});
afterAll(async () => { await gw?.stop(); await mock?.stop(); });

const toolsSent = async (): Promise<string[]> => {
  const r = await fetch(`${gw.proxy}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': 'reload-1' },
    body: JSON.stringify({ model: 'm', messages: [], tools: ['delete_x', 'read_x'].map((name) => ({ type: 'function', function: { name } })) }) });
  const body = JSON.parse(((await r.json()) as { body: string }).body) as { tools: Array<{ function: { name: string } }> };
  return body.tools.map((t) => t.function.name);
};
const reload = () => fetch(`${gw.control}/control/reload`, { method: 'POST', headers: { 'x-cordon-client': 'test' } });

describe('tools and config reload', () => {
  it('new lists apply after a reload; a bad glob is refused; a held call survives', async () => {
    expect(await toolsSent()).toEqual(['read_x']);
    const held = fetch(`${gw.proxy}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': 'reload-2' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'shell', arguments: { c: 'rm -rf ./t' } } }) });
    let id = '';
    for (let i = 0; i < 200 && !id; i++) {
      const a = (await (await fetch(`${gw.control}/control/approvals`)).json()) as { approvals: Array<{ id: string }> };
      id = a.approvals[0]?.id ?? '';
      if (!id) await new Promise((r) => setTimeout(r, 10));
    }
    writeFileSync(file, config('read_*'));
    expect((await reload()).status).toBe(200);
    expect(await toolsSent()).toEqual(['delete_x']);
    writeFileSync(file, config('bad['));
    const refused = await reload();
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toContain('policy.tools.deny[0]');
    expect(await toolsSent()).toEqual(['delete_x']);
    expect((await fetch(`${gw.control}/control/approvals/${id}/approve`, { method: 'POST' })).status).toBe(200);
    expect(((await (await held).json()) as { result?: unknown }).result).toBeDefined();
  });
});
