import { describe, expect, it } from 'vitest';
import { FrameParser, encodeClose, type FrameSink } from '../../src/protocols/ws-frame.js';
import { UTF8_ACCEPT, UTF8_REJECT, utf8Step } from '../../src/protocols/ws-utf8.js';
import { closePayload, frame, rng, splitAt } from './frames.js';

class Collect implements FrameSink {
  messages: string[] = [];
  cur: Buffer[] = [];
  segments = 0;
  /** when set, text containing this word fails with 1008 */
  word: string | null = null;
  textData(parser: FrameParser, data: Buffer, last: boolean): number {
    this.segments++;
    this.cur.push(Buffer.from(data));
    if (this.word && Buffer.concat(this.cur).toString().includes(this.word)) {
      parser.reason = `policy: ${this.word}`;
      return 1008;
    }
    if (last) {
      this.messages.push(Buffer.concat(this.cur).toString('utf8'));
      this.cur = [];
    }
    return 0;
  }
}

function parser(opts: Partial<{ fromClient: boolean; maxFrame: number; deflate: boolean }> = {}) {
  const sink = new Collect();
  const p = new FrameParser({ fromClient: opts.fromClient ?? true, maxFrame: opts.maxFrame ?? 1 << 20, deflate: opts.deflate ?? false }, sink);
  return { p, sink };
}

function feed(p: FrameParser, chunks: Buffer[]): number {
  for (const c of chunks) {
    const code = p.push(c);
    if (code !== 0) return code;
  }
  return 0;
}

describe('utf8Step', () => {
  it('accepts valid text split at every byte', () => {
    const b = Buffer.from('héllo wörld € 𝄞 日本語', 'utf8');
    let st = UTF8_ACCEPT;
    for (let i = 0; i < b.length; i++) {
      st = utf8Step(st, b, i, i + 1);
      expect(st).not.toBe(UTF8_REJECT);
    }
    expect(st).toBe(UTF8_ACCEPT);
  });
  it.each([
    ['overlong 2-byte', [0xc0, 0xaf]],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['stray continuation', [0x80]],
    ['0xff', [0xff]],
  ])('rejects %s', (_n, bytes) => {
    expect(utf8Step(UTF8_ACCEPT, Buffer.from(bytes), 0, bytes.length)).toBe(UTF8_REJECT);
  });
  it('reports an unfinished code point as pending, not accepted', () => {
    expect(utf8Step(UTF8_ACCEPT, Buffer.from([0xe2, 0x82]), 0, 2)).toBeGreaterThan(0);
  });
  it('uses the long path correctly for runs over 64 bytes ending mid code point', () => {
    const b = Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0xe2, 0x82])]);
    const st = utf8Step(UTF8_ACCEPT, b, 0, b.length);
    expect(st).toBeGreaterThan(0);
    expect(utf8Step(st, Buffer.from([0xac]), 0, 1)).toBe(UTF8_ACCEPT);
  });
});

describe('FrameParser', () => {
  const stream = Buffer.concat([
    frame({ opcode: 1, payload: 'hello' }),
    frame({ opcode: 2, payload: Buffer.alloc(300, 7) }),
    frame({ opcode: 1, payload: 'frag-€-', fin: false }),
    frame({ opcode: 9, payload: 'ping!' }),
    frame({ opcode: 0, payload: '', fin: false }),
    frame({ opcode: 0, payload: 'ment 𝄞', fin: false }),
    frame({ opcode: 10, payload: '' }),
    frame({ opcode: 0, payload: ' end', fin: true }),
    frame({ opcode: 1, payload: 'x'.repeat(70_000) }),
    frame({ opcode: 1, payload: '' }),
    frame({ opcode: 8, payload: closePayload(1000, 'bye') }),
  ]);
  const expected = ['hello', 'frag-€-ment 𝄞 end', 'x'.repeat(70_000), '', ];

  it('parses a stream in one chunk', () => {
    const { p, sink } = parser();
    expect(p.push(stream)).toBe(0);
    expect(sink.messages).toEqual(expected);
    expect(p.atBoundary()).toBe(true);
  });

  it('parses the same stream byte by byte', () => {
    const { p, sink } = parser();
    for (let i = 0; i < stream.length; i++) expect(p.push(stream.subarray(i, i + 1))).toBe(0);
    expect(sink.messages).toEqual(expected);
  });

  it('parses it under 200 random chunk splits', () => {
    const r = rng(42);
    for (let t = 0; t < 200; t++) {
      const cuts = Array.from({ length: 1 + Math.floor(r() * 20) }, () => Math.floor(r() * stream.length));
      const { p, sink } = parser();
      expect(feed(p, splitAt(stream, cuts))).toBe(0);
      expect(sink.messages).toEqual(expected);
    }
  });

  it('parses unmasked server frames, handing views of the chunk', () => {
    const { p, sink } = parser({ fromClient: false });
    const s = Buffer.concat([frame({ opcode: 1, payload: 'from server', mask: false }), frame({ opcode: 1, payload: 'two', mask: false, fin: false }), frame({ opcode: 0, payload: '!', mask: false })]);
    expect(feed(p, splitAt(s, [3, 9, 15]))).toBe(0);
    expect(sink.messages).toEqual(['from server', 'two!']);
  });

  it('never hands binary or ping payloads to the sink', () => {
    const { p, sink } = parser();
    expect(p.push(Buffer.concat([frame({ opcode: 2, payload: Buffer.alloc(5000) }), frame({ opcode: 9, payload: 'p' })]))).toBe(0);
    expect(sink.segments).toBe(0);
  });

  it('accepts 64-bit lengths', () => {
    const { p, sink } = parser();
    expect(p.push(frame({ opcode: 1, payload: 'abc', lenBits: 64 }))).toBe(0);
    expect(sink.messages).toEqual(['abc']);
  });

  it('marks frameStart at the offending frame so the prefix can be forwarded', () => {
    const { p } = parser();
    const good = frame({ opcode: 1, payload: 'ok' });
    const chunk = Buffer.concat([good, frame({ opcode: 3 })]);
    expect(p.push(chunk)).toBe(1002);
    expect(p.frameStart).toBe(good.length);
  });

  it('frameStart is -1 when the offending frame began in an earlier chunk', () => {
    const { p } = parser();
    const bad = frame({ opcode: 1, payload: Buffer.from([0x61, 0x62, 0xff, 0x63]) });
    expect(p.push(bad.subarray(0, 7))).toBe(0);
    expect(p.push(bad.subarray(7))).toBe(1007);
    expect(p.frameStart).toBe(-1);
  });

  describe('bad input close codes', () => {
    const cases: [string, Buffer[], number, Partial<{ fromClient: boolean; maxFrame: number; deflate: boolean }>?][] = [
      ['RSV1 without deflate', [frame({ opcode: 1, payload: 'a', rsv: 0x40 })], 1002],
      ['RSV2', [frame({ opcode: 1, payload: 'a', rsv: 0x20 })], 1002],
      ['RSV3', [frame({ opcode: 2, payload: 'a', rsv: 0x10 })], 1002],
      ['reserved opcode 3', [frame({ opcode: 3 })], 1002],
      ['reserved control opcode 0xB', [frame({ opcode: 0xb })], 1002],
      ['continuation without a message', [frame({ opcode: 0, payload: 'a' })], 1002],
      ['text inside a fragmented message', [frame({ opcode: 1, payload: 'a', fin: false }), frame({ opcode: 1, payload: 'b' })], 1002],
      ['fragmented control frame', [frame({ opcode: 9, payload: 'a', fin: false })], 1002],
      ['control frame over 125 bytes', [frame({ opcode: 9, payload: Buffer.alloc(126) })], 1002],
      ['unmasked client frame', [frame({ opcode: 1, payload: 'a', mask: false })], 1002],
      ['masked server frame', [frame({ opcode: 1, payload: 'a', mask: true })], 1002, { fromClient: false }],
      ['64-bit length with the top bit set', [Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0])], 1002],
      ['frame over max_frame', [frame({ opcode: 2, payload: Buffer.alloc(2000) })], 1009, { maxFrame: 1000 }],
      ['declared length over max_frame (header only)', [frame({ opcode: 2, declaredLength: 2 ** 40 }).subarray(0, 14)], 1009, { maxFrame: 1000 }],
      ['message over max_frame across fragments', [frame({ opcode: 1, payload: 'a'.repeat(600), fin: false }), frame({ opcode: 0, payload: 'b'.repeat(600) })], 1009, { maxFrame: 1000 }],
      ['invalid UTF-8 in text', [frame({ opcode: 1, payload: Buffer.from([0x61, 0xc3, 0x28]) })], 1007],
      ['text ending mid code point', [frame({ opcode: 1, payload: Buffer.from([0x61, 0xe2, 0x82]) })], 1007],
      ['code point split across fragments, never finished', [frame({ opcode: 1, payload: Buffer.from([0xe2]), fin: false }), frame({ opcode: 0, payload: Buffer.from([0x82]) })], 1007],
      ['close payload of 1 byte', [frame({ opcode: 8, payload: Buffer.from([3]) })], 1002],
      ['close code 1005 on the wire', [frame({ opcode: 8, payload: closePayload(1005) })], 1002],
      ['close code 999', [frame({ opcode: 8, payload: closePayload(999) })], 1002],
      ['close reason not UTF-8', [frame({ opcode: 8, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]) })], 1007],
    ];
    it.each(cases)('%s', (_name, chunks, code, opts) => {
      const { p } = parser(opts);
      const whole = Buffer.concat(chunks);
      expect(feed(p, [whole])).toBe(code);
      expect(p.reason).not.toBe('');
      // the same verdict however the input is split
      const { p: p2 } = parser(opts);
      const bytes = [];
      for (let i = 0; i < whole.length; i++) bytes.push(whole.subarray(i, i + 1));
      expect(feed(p2, bytes)).toBe(code);
    });

    it('stays failed after a violation', () => {
      const { p } = parser();
      expect(p.push(frame({ opcode: 3 }))).toBe(1002);
      expect(p.push(frame({ opcode: 1, payload: 'a' }))).toBe(1002);
    });
  });

  it('allows RSV1 on a first frame when deflate was negotiated, and does not decode it', () => {
    const { p, sink } = parser({ deflate: true });
    expect(p.push(frame({ opcode: 1, payload: Buffer.from([0xff, 0xfe]), rsv: 0x40 }))).toBe(0);
    expect(sink.segments).toBe(0);
    expect(p.push(frame({ opcode: 0, payload: 'x', rsv: 0x40 }))).toBe(1002);
  });

  it('lets the sink fail a message with 1008, even across fragments and chunks', () => {
    const { p, sink } = parser();
    sink.word = 'forbidden';
    const s = Buffer.concat([frame({ opcode: 1, payload: 'this is forb', fin: false }), frame({ opcode: 9, payload: 'hi' }), frame({ opcode: 0, payload: 'idden text' })]);
    const code = feed(p, splitAt(s, [5, 17, 30]));
    expect(code).toBe(1008);
    expect(p.reason).toBe('policy: forbidden');
  });
});

describe('encodeClose', () => {
  it('encodes an unmasked close that a parser accepts', () => {
    const { p } = parser({ fromClient: false });
    const f = encodeClose(1008, 'policy_violation: x', null);
    expect(f[0]).toBe(0x88);
    expect(f.readUInt16BE(2)).toBe(1008);
    expect(p.push(f)).toBe(0);
  });
  it('encodes a masked close and truncates long reasons on a code point boundary', () => {
    const { p } = parser({ fromClient: true });
    const f = encodeClose(1001, '€'.repeat(100), 0x12345678);
    expect(f[1] & 0x80).toBe(0x80);
    expect(f[1] & 0x7f).toBeLessThanOrEqual(125);
    expect(p.push(f)).toBe(0);
  });
});

describe('FrameParser on garbage', () => {
  it('never throws and always answers a close code or 0 on random bytes', () => {
    const r = rng(7);
    for (let t = 0; t < 3000; t++) {
      const len = 1 + Math.floor(r() * 200);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
      const { p } = parser({ fromClient: r() < 0.5, maxFrame: 1 + Math.floor(r() * 100) });
      const code = feed(p, splitAt(b, [Math.floor(r() * len), Math.floor(r() * len)]));
      expect([0, 1002, 1007, 1009]).toContain(code);
    }
  });
});
