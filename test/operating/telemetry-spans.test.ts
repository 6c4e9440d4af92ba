// What a request's span says (SPEC.md "Operating it"), against the built binary and a receiver
// started here: the model the upstream answered with, tokens as the session was charged them, the
// key's agent, and the events a kill, a terminate and a held tool call leave, on HTTP requests and
// on WebSocket connections.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, startMockLlm, type GatewayProc, type Proc } from '../helpers/procs.js';
import { fakeUpstream, type FakeUpstream, type Seen } from './fake-upstream.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const procs: Proc[] = [];
const closers: Array<FakeUpstream | OtlpReceiver> = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
  await Promise.all(closers.splice(0).map((u) => u.close()));
});

function configFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-spans-'));
  writeFileSync(join(dir, 'c.yaml'), yaml);
  return join(dir, 'c.yaml');
}

const KEY = 'ck-trace-agent-key-0123456789abcdef';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const sse = (res: ServerResponse, events: unknown[]) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const e of events) res.write(`data: ${JSON.stringify(e)}\n\n`);
  res.end('data: [DONE]\n\n');
};

/** Answers named by x-case, each naming a model other than the one asked for (as providers do). */
function answer(s: Seen, res: ServerResponse): void {
  const which = s.headers['x-case'];
  if (which === 'json') {
    const body = JSON.stringify({ id: 'c1', model: 'gpt-4o-2024-08-06', choices: [{ message: { role: 'assistant', content: 'hi' } }], usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else if (which === 'stream') {
    const chunk = (delta: object, extra: object = {}) => ({ id: 'c2', object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta }], ...extra });
    sse(res, [chunk({ role: 'assistant' }), chunk({ content: 'hello' }), chunk({}, { choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } })]);
  } else if (which === 'estimate') {
    // no usage: the gateway counts with its tokenizer
    const chunk = (content: string) => ({ id: 'c3', object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: { content } }] });
    sse(res, [chunk('The quick brown fox '), chunk('jumps over the lazy dog '), chunk('and keeps on running.')]);
  } else if (which === 'anthropic') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    ev('message_start', { message: { id: 'm1', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-20250514', usage: { input_tokens: 13, output_tokens: 1 } } });
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'hi there' } });
    ev('content_block_stop', { index: 0 });
    ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 6 } });
    ev('message_stop', {});
    res.end();
  } else if (which === 'hang') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${JSON.stringify({ model: 'm', choices: [{ delta: { content: 'x' } }] })}\n\n`); // and nothing more
  } else {
    res.writeHead(404).end();
  }
}

const post = (gw: GatewayProc, path: string, session: string, which: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': session, 'x-case': which, ...headers }, body: JSON.stringify(body) });

const bySession = (spans: ReceivedSpan[], id: string): ReceivedSpan[] => spans.filter((s) => s.attributes['session.id'] === id);

async function waitSpans(rx: OtlpReceiver, ok: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  for (let i = 0; i < 400 && !ok(rx.spans); i++) await new Promise((r) => setTimeout(r, 25));
  return rx.spans;
}

async function waitApproval(gw: GatewayProc, session: string): Promise<{ id: string }> {
  for (let i = 0; i < 400; i++) {
    const list = await (await fetch(`${gw.control}/control/approvals`)).json() as { approvals: Array<{ id: string; session_id: string }> };
    const a = list.approvals.find((x) => x.session_id === session);
    if (a !== undefined) return a;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no approval pending for ${session}`);
}

describe('span contents', () => {
  it('gen_ai.response.model is the model the answer named; the tokens are the ones the session was charged', async () => {
    const rx = await startOtlpReceiver();
    const up = await fakeUpstream(answer);
    closers.push(rx, up);
    // preset off: no response inspector runs, so the numbers can only come from the spend meter
    const gw = await startGateway(['--config', configFile(`upstreams:\n  - url: ${up.url}\ntelemetry:\n  otlp_endpoint: ${rx.url}\npolicy:\n  preset: off\n`)]);
    procs.push(gw);
    const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'tell me something about foxes please' }] };
    await (await post(gw, '/v1/chat/completions', 'rm-json', 'json', chat)).text();
    await (await post(gw, '/v1/chat/completions', 'rm-stream', 'stream', { ...chat, stream: true, stream_options: { include_usage: true } })).text();
    await (await post(gw, '/v1/chat/completions', 'rm-estimate', 'estimate', { ...chat, stream: true })).text();
    await (await post(gw, '/v1/messages', 'rm-anthropic', 'anthropic', { model: 'claude-sonnet-4', max_tokens: 10, stream: true, messages: chat.messages })).text();
    const spans = await waitSpans(rx, (s) => s.length >= 4);
    const one = (id: string) => { const s = bySession(spans, id); expect(s).toHaveLength(1); return s[0].attributes; };
    expect(one('rm-json')).toMatchObject({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'gpt-4o-2024-08-06', 'gen_ai.usage.input_tokens': 11, 'gen_ai.usage.output_tokens': 4 });
    expect(one('rm-stream')).toMatchObject({ 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 2 });
    expect(one('rm-anthropic')).toMatchObject({ 'gen_ai.system': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4', 'gen_ai.response.model': 'claude-sonnet-4-20250514', 'gen_ai.usage.input_tokens': 13, 'gen_ai.usage.output_tokens': 6 });
    const est = one('rm-estimate');
    expect(est['gen_ai.response.model']).toBe('gpt-4o-mini-2024-07-18');
    expect(Number(est['gen_ai.usage.output_tokens'])).toBeGreaterThan(5);
    // each span's numbers are exactly its session's (the estimate included)
    for (const id of ['rm-json', 'rm-stream', 'rm-estimate', 'rm-anthropic']) {
      const v = await (await fetch(`${gw.control}/control/sessions/${id}`)).json() as { tokens_in: number; tokens_out: number; tokens_estimated: boolean };
      expect(v.tokens_estimated).toBe(id === 'rm-estimate');
      expect([one(id)['gen_ai.usage.input_tokens'], one(id)['gen_ai.usage.output_tokens']]).toEqual([v.tokens_in, v.tokens_out]);
    }
  }, 60_000);

  it('cordon.agent from the key; kill, agent kill, terminate and held tool calls are events on the span', async () => {
    const rx = await startOtlpReceiver();
    const up = await fakeUpstream(answer);
    closers.push(rx, up);
    const gw = await startGateway(['--config', configFile([
      `upstreams:\n  - url: ${up.url}`,
      `telemetry:\n  otlp_endpoint: ${rx.url}`,
      `auth:\n  keys:\n    - { id: tracer, key_sha256: ${sha(KEY)}, agent: trace-bot }`,
      'policy:\n  preset: off\n  rules:',
      '    - { name: end-it, target: request, literals: [end-this-session], action: terminate }',
      "    - { name: hold-rm, target: tool_call, patterns: ['rm\\s+-rf'], action: hold }",
      '',
    ].join('\n'))]);
    procs.push(gw);
    const auth = { authorization: `Bearer ${KEY}` };
    const chat = (content: string) => ({ model: 'm', stream: true, messages: [{ role: 'user', content }] });
    const open = async (session: string, headers: Record<string, string> = {}) => {
      const r = await post(gw, '/v1/chat/completions', session, 'hang', chat('hello'), headers);
      expect(r.status).toBe(200);
      const reader = r.body!.getReader();
      await reader.read();
      return async () => { while (!(await reader.read()).done) { /* until the gateway ends it */ } };
    };
    // a kill of the session
    const killed = await open('ev-kill', auth);
    expect((await fetch(`${gw.control}/control/sessions/ev-kill/kill`, { method: 'POST' })).status).toBe(200);
    await killed();
    // a terminate: a request of the session trips a terminate rule while a stream of it is open
    const terminated = await open('ev-term');
    expect((await post(gw, '/v1/chat/completions', 'ev-term', 'json', { model: 'm', messages: [{ role: 'user', content: 'end-this-session' }] })).status).toBe(403);
    await terminated();
    // a held MCP call (denied by the operator)
    const held = post(gw, '/v1/mcp', 'ev-hold', 'json', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'shell', arguments: { command: 'rm -rf /tmp/x' } } }, auth);
    const approval = await waitApproval(gw, 'ev-hold');
    expect((await fetch(`${gw.control}/control/approvals/${approval.id}/deny`, { method: 'POST' })).status).toBe(200);
    await (await held).text();
    // an agent kill (last: it refuses the key from then on)
    const agentKilled = await open('ev-agent', auth);
    expect((await fetch(`${gw.control}/control/agents/trace-bot/kill`, { method: 'POST' })).status).toBe(200);
    await agentKilled();

    const spans = await waitSpans(rx, (s) => s.length >= 6);
    const events = (s: ReceivedSpan) => s.events.map((e) => e.name);
    const [kill] = bySession(spans, 'ev-kill');
    expect(kill.attributes['cordon.agent']).toBe('trace-bot');
    expect(events(kill)).toContain('cordon.session.killed');
    const term = bySession(spans, 'ev-term');
    expect(term).toHaveLength(2);
    const stream = term.find((s) => s.attributes['cordon.policy.outcome'] === 'allow')!;
    const tripped = term.find((s) => s.attributes['cordon.policy.outcome'] === 'terminate')!;
    expect(events(stream)).toContain('cordon.session.terminated');
    expect(stream.attributes['cordon.agent']).toBeUndefined(); // no key
    expect(tripped.attributes['cordon.policy.rule']).toBe('end-it');
    expect(tripped.events.find((e) => e.name === 'cordon.session.terminated')?.attributes['cordon.policy.rule']).toBe('end-it');
    const [hold] = bySession(spans, 'ev-hold');
    expect(hold.attributes['cordon.agent']).toBe('trace-bot');
    expect(hold.events.find((e) => e.name === 'cordon.tool_call.held')?.attributes).toEqual({ 'gen_ai.tool.name': 'shell', 'cordon.approval.id': approval.id });
    expect(events(bySession(spans, 'ev-agent')[0])).toContain('cordon.agent.killed');
  }, 60_000);

  it('a tool call the model makes in a streamed answer, held for approval, is an event on the span', async () => {
    const rx = await startOtlpReceiver();
    closers.push(rx);
    const mock = await startMockLlm(); procs.push(mock);
    const gw = await startGateway(['--config', configFile([
      `upstreams:\n  - url: ${mock.url}`,
      `telemetry:\n  otlp_endpoint: ${rx.url}`,
      'policy:\n  preset: off\n  rules:',
      "    - { name: hold-rm, target: tool_call, patterns: ['rm\\s+-rf'], action: hold }",
      '',
    ].join('\n'))]);
    procs.push(gw);
    const tools = [{ type: 'function', function: { name: 'shell', parameters: { type: 'object', properties: {} } } }];
    const r = post(gw, '/v1/chat/completions', 'ev-model-hold', 'mock', { model: 'm', stream: true, messages: [{ role: 'user', content: 'clean' }], tools },
      { 'x-mock-tool-call': 'shell', 'x-mock-tool-args': JSON.stringify({ command: 'rm -rf /tmp/build' }) });
    const approval = await waitApproval(gw, 'ev-model-hold');
    expect((await fetch(`${gw.control}/control/approvals/${approval.id}/deny`, { method: 'POST' })).status).toBe(200);
    await (await r).text();
    const [span] = bySession(await waitSpans(rx, (s) => s.length >= 1), 'ev-model-hold');
    expect(span.events.find((e) => e.name === 'cordon.tool_call.held')?.attributes).toEqual({ 'gen_ai.tool.name': 'shell', 'cordon.approval.id': approval.id });
  });

  it('a WebSocket connection\'s span: the agent, and a kill or a terminate as events', async () => {
    const rx = await startOtlpReceiver();
    closers.push(rx);
    const mock = await startMockLlm(); procs.push(mock);
    const gw = await startGateway(['--config', configFile([
      `upstreams:\n  - url: ${mock.url}`,
      `telemetry:\n  otlp_endpoint: ${rx.url}`,
      `auth:\n  keys:\n    - { id: tracer, key_sha256: ${sha(KEY)}, agent: ws-bot }`,
      'policy:\n  preset: off\n  rules:',
      '    - { name: ws-end, target: request, literals: [end-this-socket], action: terminate }',
      '',
    ].join('\n'))]);
    procs.push(gw);
    const connect = async (session: string) => {
      const ws = new WebSocket(`${gw.proxy.replace('http', 'ws')}/v1/realtime`, { headers: { 'x-session-id': session, authorization: `Bearer ${KEY}` } });
      await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      return { ws, closed };
    };
    const a = await connect('ws-kill');
    expect((await fetch(`${gw.control}/control/sessions/ws-kill/kill`, { method: 'POST' })).status).toBe(200);
    expect(await a.closed).toBe(1008);
    const b = await connect('ws-term');
    b.ws.send('please end-this-socket now');
    expect(await b.closed).toBe(1008);
    const spans = await waitSpans(rx, (s) => s.length >= 2);
    const [k] = bySession(spans, 'ws-kill');
    expect(k.name).toBe('websocket');
    expect(k.attributes['cordon.agent']).toBe('ws-bot');
    expect(k.events.map((e) => e.name)).toContain('cordon.session.killed');
    const [t] = bySession(spans, 'ws-term');
    expect(t.attributes).toMatchObject({ 'cordon.agent': 'ws-bot', 'cordon.policy.outcome': 'terminate', 'cordon.policy.rule': 'ws-end' });
    expect(t.events.map((e) => e.name)).toContain('cordon.session.terminated');
  });
});
