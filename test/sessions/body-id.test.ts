import { describe, expect, it } from 'vitest';
import { BodyIdScanner, sessionIdFromBody } from '../../src/sessions/body-id.js';
import { sessionIdFromJson, validSessionId } from '../../src/sessions/identity.js';

// What identify() decides from a parsed body: the candidate if valid, else nothing.
function viaParse(text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const c = sessionIdFromJson(json);
  // sessionIdFromJson only ever answers valid IDs
  if (c !== undefined) expect(validSessionId(c)).toBe(true);
  return c;
}

function chunked(text: string, sizes: number[]): string | undefined {
  const buf = Buffer.from(text, 'utf8');
  const s = new BodyIdScanner();
  let at = 0;
  let k = 0;
  while (at < buf.length) {
    const n = sizes[k++ % sizes.length];
    if (s.feed(buf.subarray(at, at + n))) break;
    at += n;
  }
  return s.result();
}

const bodies = [
  '{"model":"gpt","messages":[{"role":"user","content":"hi \\"user\\": \\"x\\""}],"user":"agent-7"}',
  '{"user":"agent-1","model":"m"}',
  '{"user":"..","metadata":{"user_id":"after-dots"}}',
  '{"user":"...","metadata":{"user_id":"."}}',
  ' \n{ "user" : "a.b:c_d-e" } ',
  '{"model":"claude","metadata":{"user_id":"anth-42"},"messages":[]}',
  '{"metadata":{"other":{"user_id":"deep"},"user_id":"shallow"}}',
  '{"messages":[{"user":"nested-not-top"}]}',
  '{"user":"bad id with spaces","metadata":{"user_id":"fine"}}',
  '{"user":5,"metadata":{"user_id":"fine"}}',
  '{"user":"first","user":"second"}',
  '{"user":"first","user":null,"metadata":{"user_id":"m"}}',
  '{"user":"' + 'x'.repeat(128) + '"}',
  '{"user":"' + 'x'.repeat(129) + '"}',
  '{"user":""}',
  '{"user":"caf\u00e9"}',
  '{"metadata":"x","user_id":"top-level-user_id"}',
  '{"metadata":[{"user_id":"in-array"}]}',
  '{"users":"x","use":"y","user_idx":"z"}',
  '{"a":{"b":[1,2,{"c":"}]"}]},"user":"after-tricky-strings"}',
  '{"content":"\\\\","user":"after-backslash"}',
  '["user","x"]',
  'not json',
  '',
  '"user"',
  '\ufeff{"user":"bom"}',
];

describe('BodyIdScanner', () => {
  it('agrees with JSON.parse + identify on a range of bodies, in any chunking', () => {
    for (const b of bodies) {
      const want = b.startsWith('\ufeff') ? 'bom' : viaParse(b);
      expect(sessionIdFromBody(Buffer.from(b, 'utf8')), b).toBe(want);
      for (const sizes of [[1], [2, 3], [7], [64]]) expect(chunked(b, sizes), `${b} @ ${sizes}`).toBe(want);
    }
  });

  it('gives nothing for an incomplete object and for escaped IDs', () => {
    expect(sessionIdFromBody(Buffer.from('{"user":"abc"'))).toBeUndefined();
    expect(sessionIdFromBody(Buffer.from('{"user":"a\\u0062c"}'))).toBeUndefined();
    expect(sessionIdFromBody(Buffer.from('{"us\\u0065r":"abc"}'))).toBeUndefined();
  });

  it('stops early once the top-level object closes', () => {
    const s = new BodyIdScanner();
    expect(s.feed(Buffer.from('{"user":"a"}'))).toBe(true);
    expect(s.feed(Buffer.from('garbage'))).toBe(true);
    expect(s.result()).toBe('a');
    const t = new BodyIdScanner();
    expect(t.feed(Buffer.from('<html>'))).toBe(true);
    expect(t.result()).toBeUndefined();
  });

  it('finds the user at the end of a large body', () => {
    const big = JSON.stringify({ model: 'm', messages: Array.from({ length: 2000 }, (_, i) => ({ role: 'user', content: `msg ${i} {[\"` })), user: 'tail-user' });
    expect(sessionIdFromBody(Buffer.from(big))).toBe('tail-user');
    expect(chunked(big, [16384])).toBe('tail-user');
  });
});
