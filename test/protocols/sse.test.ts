import { describe, expect, it } from 'vitest';
import { SseDecoder, type SseSink } from '../../src/protocols/sse.js';

class Events implements SseSink {
  events: string[] = [];
  cur: Buffer[] = [];
  sseData(chunk: Buffer, s: number, e: number): void { this.cur.push(Buffer.from(chunk.subarray(s, e))); }
  sseDataNewline(): void { this.cur.push(Buffer.from('\n')); }
  sseEventEnd(): void { this.events.push(Buffer.concat(this.cur).toString('utf8')); this.cur = []; }
}

function decode(stream: Buffer, cuts: number[]): string[] {
  const sink = new Events();
  const d = new SseDecoder(sink);
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    d.write(stream.subarray(prev, c));
    prev = c;
  }
  d.end();
  return sink.events;
}

const STREAM = Buffer.from(
  ': comment\r\nevent: message\r\ndata: {"a":"h\u00e9llo"}\r\n\r\n'
  + 'id: 7\ndata:no-space\ndata: second line\n\n'
  + 'data\n\n'
  + 'retry: 10\rdata: cr only\r\rdata: [DONE]\n\n');
const EXPECTED = ['{"a":"h\u00e9llo"}', 'no-space\nsecond line', '', 'cr only', '[DONE]'];

describe('SSE decoder', () => {
  it('decodes events, comments, CR/LF/CRLF and multi-line data', () => {
    expect(decode(STREAM, [])).toEqual(EXPECTED);
  });

  it('gives the same events at every one- and two-point split', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      expect(decode(STREAM, [i]), `cut ${i}`).toEqual(EXPECTED);
      for (let j = i; j <= STREAM.length; j += 7) expect(decode(STREAM, [i, j])).toEqual(EXPECTED);
    }
  });

  it('works byte by byte', () => {
    expect(decode(STREAM, Array.from({ length: STREAM.length }, (_, i) => i))).toEqual(EXPECTED);
  });
});
