// Config reload (SPEC.md "Operating it"): SIGHUP and POST /control/reload against the built binary.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, startMockLlm, type Proc } from '../helpers/procs.js';

const procs: Proc[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
});

const rule = (name: string, target: string, word: string) =>
  `    - name: ${name}\n      target: ${target}\n      literals: [${word}]\n      action: block\n`;

function config(upstreams: string[], rules: string, extra = ''): string {
  return `upstreams:\n${upstreams.map((u) => `  - url: ${u}\n`).join('')}policy:\n  preset: off\n  rules:\n${rules}${extra}`;
}

async function chat(proxy: string, text: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${proxy}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: text }], stream: headers['x-stream'] === '1' }),
  });
}

/** The text an SSE chat stream carried, its deltas joined. */
function streamedText(sse: string): string {
  let out = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const j = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
    out += j.choices?.[0]?.delta?.content ?? '';
  }
  return out;
}

async function reload(control: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${control}/control/reload`, { method: 'POST' });
  return { status: r.status, body: await r.json() as Record<string, unknown> };
}

describe('config reload', () => {
  it('swaps rules and upstreams; a stream in flight keeps the rules it began with', async () => {
    const a = await startMockLlm(); const b = await startMockLlm(); procs.push(a, b);
    const dir = mkdtempSync(join(tmpdir(), 'cordon-reload-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, config([a.url], rule('no-alpha', 'request', 'alpha-word')));
    const gw = await startGateway(['--config', file]); procs.push(gw);
    const before = await (await fetch(`${gw.control}/control/policy`)).json() as { reloads: number; config_hash: string };
    expect(before.reloads).toBe(0);
    expect((await chat(gw.proxy, 'beta-word please')).status).toBe(200);

    // a slow stream that will say "zebra-word" at its end, begun under rules that do not mind it
    const stream = await chat(gw.proxy, 'go', { 'x-stream': '1', 'x-mock-text': 'one two three four five six seven zebra-word', 'x-mock-deltas': '8', 'x-mock-delay-ms': '150' });
    expect(stream.status).toBe(200);
    const streamText = stream.text();

    writeFileSync(file, config([a.url, b.url], rule('no-alpha', 'request', 'alpha-word') + rule('no-beta', 'request', 'beta-word') + rule('no-zebra', 'response', 'zebra-word')));
    const r = await reload(gw.control);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ reloaded: true, reloads: 1, changed: ['policy', 'upstreams', 'config'], restart_required: [] });
    expect(typeof r.body.swap_ms).toBe('number');

    // the stream in flight finishes whole, under its old rules
    const old = await streamText;
    expect(streamedText(old)).toContain('zebra-word');
    expect(old).not.toContain('event: error');
    // new requests see the new rules and the new upstream
    const blocked = await chat(gw.proxy, 'beta-word please');
    expect(blocked.status).toBe(403);
    expect(await blocked.json()).toMatchObject({ error: { type: 'policy_violation', code: 'no-beta' } });
    const fresh = await (await chat(gw.proxy, 'go', { 'x-stream': '1', 'x-mock-text': 'zebra-word', 'x-session-id': 'fresh' })).text();
    expect(fresh).toContain('event: error');
    const servers = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await chat(gw.proxy, 'hello');
      servers.add(res.headers.get('x-mock-server')!);
      await res.arrayBuffer();
    }
    expect(servers).toEqual(new Set([a.address, b.address]));
    const after = await (await fetch(`${gw.control}/control/policy`)).json() as { reloads: number; config_hash: string; rules: Array<{ name: string }> };
    expect(after.reloads).toBe(1);
    expect(after.config_hash).not.toBe(before.config_hash);
    expect(after.rules.map((x) => x.name).sort()).toEqual(['no-alpha', 'no-beta', 'no-zebra']);
    const metrics = await (await fetch(`${gw.control}/metrics`)).text();
    expect(metrics).toContain('cordon_config_reloads_total{result="applied"} 1');
    expect(metrics).toContain(`cordon_config_info{hash="${after.config_hash}"} 1`);
  });

  it('an invalid file changes nothing and answers 422 with every problem; SIGHUP reloads', async () => {
    const a = await startMockLlm(); procs.push(a);
    const dir = mkdtempSync(join(tmpdir(), 'cordon-reload-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, config([a.url], rule('no-alpha', 'request', 'alpha-word')));
    const gw = await startGateway(['--config', file]); procs.push(gw);
    const before = await (await fetch(`${gw.control}/control/policy`)).json() as { config_hash: string };

    writeFileSync(file, `${config([a.url], rule('no-alpha', 'request', 'alpha-word') + '    - name: bad\n      patterns: ["(unclosed"]\n')}retry:\n  on: [429, 418]\nmode: sometimes\n`);
    const r = await reload(gw.control);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ error: { type: 'invalid_request', code: 'invalid_config' } });
    const problems = r.body.problems as string[];
    expect(problems.some((p) => p.startsWith('retry.on[1]: unknown retry reason 418'))).toBe(true);
    expect(problems.some((p) => p.startsWith('mode: must be one of enforce, audit'))).toBe(true);
    // a pattern that does not compile is refused too (found when the rules compile)
    writeFileSync(file, config([a.url], rule('no-alpha', 'request', 'alpha-word') + '    - name: bad\n      patterns: ["(unclosed"]\n'));
    const r2 = await reload(gw.control);
    expect(r2.status).toBe(422);
    expect((r2.body.problems as string[]).some((p) => p.startsWith('policy.rules[1].patterns[0]'))).toBe(true);
    const same = await (await fetch(`${gw.control}/control/policy`)).json() as { config_hash: string; reloads: number };
    expect(same).toMatchObject({ config_hash: before.config_hash, reloads: 0 });
    expect((await chat(gw.proxy, 'say alpha-word')).status).toBe(403);

    writeFileSync(file, config([a.url], rule('no-gamma', 'request', 'gamma-word')));
    gw.child.kill('SIGHUP');
    const end = Date.now() + 5000;
    let now = same;
    while (now.reloads === 0 && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 50));
      now = await (await fetch(`${gw.control}/control/policy`)).json() as typeof same;
    }
    expect(now.reloads).toBe(1);
    expect((await chat(gw.proxy, 'say alpha-word')).status).toBe(200);
    expect((await chat(gw.proxy, 'say gamma-word')).status).toBe(403);
    const metrics = await (await fetch(`${gw.control}/metrics`)).text();
    expect(metrics).toContain('cordon_config_reloads_total{result="rejected"} 2');
  });
});
