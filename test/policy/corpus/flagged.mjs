// How a corpus sample is put through a policy engine, shared by test/policy/corpus.test.ts (which
// checks recall and false positives per preset) and bench/scan.mjs (which publishes them), so the
// published figures are the tested ones. Requests go in as a chat body (text as a user turn, tool
// text as a tool call's arguments); responses as SSE deltas of 7 characters written in 50-byte
// chunks, so matches split across deltas and chunks count.

/**
 * @param {string} text
 * @param {boolean} tool
 * @returns {string} an SSE body of chat.completion.chunk events
 */
export function deltas(text, tool) {
  let out = '';
  for (let i = 0; i < text.length; i += 7) {
    const piece = text.slice(i, i + 7);
    const delta = tool ? { tool_calls: [{ index: 0, function: { arguments: piece } }] } : { content: piece };
    out += `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta }] })}\n\n`;
  }
  return `${out}data: [DONE]\n\n`;
}

/**
 * @param {{ inspectRequest: Function, openResponse: Function }} e a PolicyEngine
 * @param {{ text: string, dir: 'request' | 'response', kind: 'text' | 'tool' }} s a corpus sample
 * @param {number} slot a session slot of its own
 * @returns {boolean} whether any rule hit
 */
export function flagged(e, s, slot) {
  if (s.dir === 'request') {
    const msg = s.kind === 'text' ? { role: 'user', content: s.text }
      : { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'run', arguments: s.text } }] };
    const json = { model: 'm', messages: [msg] };
    return (e.inspectRequest(slot, Buffer.from(JSON.stringify(json)), json, '/v1/chat/completions', 0)?.length ?? 0) > 0;
  }
  const insp = e.openResponse(slot, 'text/event-stream', '/v1/chat/completions');
  if (!insp) return false;
  const body = Buffer.from(deltas(s.text, s.kind === 'tool'));
  let n = 0;
  for (let i = 0; i < body.length; i += 50) n += insp.write(body.subarray(i, i + 50))?.length ?? 0;
  n += insp.end()?.length ?? 0;
  return n > 0;
}
