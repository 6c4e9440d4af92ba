// An incremental RFC 6455 frame parser: an explicit state machine fed the socket's chunks as they
// come (in the manner of ws's Receiver). It parses only as far as the relay's policy needs:
//
// - headers are read byte by byte into a few numeric fields, so no header buffer is ever held;
// - binary payloads and ping/pong payloads are skipped by counting: never copied, never unmasked;
// - text payloads are validated as UTF-8 incrementally across frames and chunks, and handed to the
//   sink unmasked (a copy when the frame is masked, a view of the chunk when it is not);
// - close payloads are checked (code, UTF-8 reason) byte by byte.
//
// The parser never forwards anything itself: the relay forwards the original chunk after push()
// accepted it, so well-formed traffic passes zero-copy. On a violation push() returns the RFC 6455
// close code to send and leaves `reason` and `frameStart` set for the relay.
import { UTF8_ACCEPT, UTF8_REJECT, utf8Byte, utf8Step } from './ws-utf8.js';

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL = 1011;
export const CLOSE_BAD_GATEWAY = 1014;

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Receives the unmasked bytes of text messages, in order. */
export interface FrameSink {
  /**
   * `data` is valid UTF-8 so far; `last` marks the final bytes of the message (possibly empty).
   * `data` is a fresh copy when the frame was masked, else a view of the socket's chunk.
   * Returns 0 to go on, or a close code (e.g. 1008) after setting `parser.reason`.
   */
  textData(parser: FrameParser, data: Buffer, last: boolean): number;
}

export interface FrameParserOptions {
  /** frames come from a client: they must be masked (and a server's must not be) */
  fromClient: boolean;
  /** largest frame payload and largest message (sum of fragments), bytes */
  maxFrame: number;
  /** permessage-deflate was negotiated: RSV1 may be set on a message's first frame */
  deflate: boolean;
}

// States of the machine.
const S_HEAD0 = 0; // first header byte: FIN, RSV, opcode
const S_HEAD1 = 1; // second header byte: MASK, 7-bit length
const S_EXTLEN = 2; // 2 or 8 bytes of extended length
const S_MASK = 3; // 4 bytes of masking key
const S_PAYLOAD = 4;
const S_FAILED = 5; // a violation was reported: everything after is ignored

// Message kinds while a (possibly fragmented) data message is open.
const M_NONE = 0;
const M_TEXT = 1;
const M_BINARY = 2;
const M_COMPRESSED = 3; // permessage-deflate: passed through, not decoded here

export class FrameParser {
  state = S_HEAD0;
  /** why push() last failed (a close reason of at most 123 bytes) */
  reason = '';
  /**
   * Offset in the last pushed chunk where the current frame's header began, or -1 when the frame
   * began in an earlier chunk. On a failure, chunk[0, frameStart) holds only whole frames (or the
   * end of frames begun before), so the relay can forward it and still inject a clean close frame.
   */
  frameStart = 0;
  /** a whole close frame went by: the peer started or answered the closing handshake */
  sawClose = false;

  private readonly fromClient: boolean;
  private readonly maxFrame: number;
  private readonly deflate: boolean;
  readonly sink: FrameSink;

  private fin = false;
  private opcode = 0;
  private masked = false;
  private need = 0; // header bytes still to read in S_EXTLEN / S_MASK
  private mask = 0; // 32-bit masking key, first byte in the high bits
  private len = 0; // payload length of the current frame
  private pos = 0; // payload bytes of the current frame consumed
  private msg = M_NONE;
  private msgLen = 0;
  private utf8 = UTF8_ACCEPT;
  private closeCode = 0;

  constructor(opts: FrameParserOptions, sink: FrameSink) {
    this.fromClient = opts.fromClient;
    this.maxFrame = opts.maxFrame;
    this.deflate = opts.deflate;
    this.sink = sink;
  }

  /** At a frame boundary: nothing of a frame has been seen without its end. */
  atBoundary(): boolean {
    return this.state === S_HEAD0;
  }

  /** Inside a fragmented data message (a close frame may still be sent between its frames). */
  inMessage(): boolean {
    return this.msg !== M_NONE;
  }

  /** Parses one chunk. Returns 0, or the close code of the first violation found in it. */
  push(chunk: Buffer): number {
    if (this.state === S_FAILED) return CLOSE_PROTOCOL_ERROR;
    this.frameStart = this.state === S_HEAD0 ? 0 : -1;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case S_HEAD0: {
          this.frameStart = i;
          const code = this.head0(chunk[i++]);
          if (code !== 0) return this.fail(code);
          break;
        }
        case S_HEAD1: {
          const code = this.head1(chunk[i++]);
          if (code !== 0) return this.fail(code);
          break;
        }
        case S_EXTLEN: {
          const b = chunk[i++];
          if (this.need === 8 && b & 0x80) return this.fail(CLOSE_PROTOCOL_ERROR, 'invalid payload length');
          this.len = this.len * 256 + b;
          if (--this.need === 0) {
            const code = this.lengthDone();
            if (code !== 0) return this.fail(code);
          }
          break;
        }
        case S_MASK: {
          this.mask = ((this.mask << 8) | chunk[i++]) >>> 0;
          if (--this.need === 0) {
            const code = this.headerDone();
            if (code !== 0) return this.fail(code);
          }
          break;
        }
        case S_PAYLOAD: {
          const take = Math.min(this.len - this.pos, n - i);
          const code = this.payload(chunk, i, i + take);
          if (code !== 0) return this.fail(code);
          i += take;
          this.pos += take;
          if (this.pos === this.len) {
            const end = this.frameDone();
            if (end !== 0) return this.fail(end);
          }
          break;
        }
        default:
          return CLOSE_PROTOCOL_ERROR;
      }
    }
    return 0;
  }

  private fail(code: number, reason?: string): number {
    if (reason !== undefined) this.reason = reason;
    this.state = S_FAILED;
    return code;
  }

  private head0(b: number): number {
    const opcode = b & 0x0f;
    const rsv1 = (b & 0x40) !== 0;
    this.fin = (b & 0x80) !== 0;
    this.opcode = opcode;
    if (b & 0x30) return this.err(CLOSE_PROTOCOL_ERROR, 'RSV2 and RSV3 must be clear');
    if (opcode >= 0x8) {
      if (opcode > OP_PONG) return this.err(CLOSE_PROTOCOL_ERROR, 'invalid opcode');
      if (!this.fin) return this.err(CLOSE_PROTOCOL_ERROR, 'fragmented control frame');
      if (rsv1) return this.err(CLOSE_PROTOCOL_ERROR, 'RSV1 must be clear');
    } else if (opcode === OP_CONTINUATION) {
      if (this.msg === M_NONE) return this.err(CLOSE_PROTOCOL_ERROR, 'continuation without a message');
      if (rsv1) return this.err(CLOSE_PROTOCOL_ERROR, 'RSV1 must be clear');
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      if (this.msg !== M_NONE) return this.err(CLOSE_PROTOCOL_ERROR, 'new message inside a fragmented one');
      if (rsv1 && !this.deflate) return this.err(CLOSE_PROTOCOL_ERROR, 'RSV1 must be clear');
      this.msg = rsv1 ? M_COMPRESSED : opcode === OP_TEXT ? M_TEXT : M_BINARY;
      this.msgLen = 0;
      this.utf8 = UTF8_ACCEPT;
    } else {
      return this.err(CLOSE_PROTOCOL_ERROR, 'invalid opcode');
    }
    this.state = S_HEAD1;
    return 0;
  }

  private head1(b: number): number {
    this.masked = (b & 0x80) !== 0;
    if (this.masked !== this.fromClient) {
      return this.err(CLOSE_PROTOCOL_ERROR, this.fromClient ? 'client frames must be masked' : 'server frames must not be masked');
    }
    const len = b & 0x7f;
    this.len = 0;
    if (len === 126) { this.need = 2; this.state = S_EXTLEN; return 0; }
    if (len === 127) { this.need = 8; this.state = S_EXTLEN; return 0; }
    this.len = len;
    return this.lengthDone();
  }

  private lengthDone(): number {
    if (this.opcode >= 0x8) {
      if (this.len > 125) return this.err(CLOSE_PROTOCOL_ERROR, 'control frame too long');
      if (this.opcode === OP_CLOSE && this.len === 1) return this.err(CLOSE_PROTOCOL_ERROR, 'invalid close payload');
    } else {
      if (this.len > this.maxFrame) return this.err(CLOSE_TOO_BIG, 'frame too big');
      this.msgLen += this.len;
      if (this.msgLen > this.maxFrame) return this.err(CLOSE_TOO_BIG, 'message too big');
    }
    if (this.masked) {
      this.need = 4;
      this.mask = 0;
      this.state = S_MASK;
      return 0;
    }
    return this.headerDone();
  }

  private headerDone(): number {
    this.pos = 0;
    this.closeCode = 0;
    if (this.opcode === OP_CLOSE) this.utf8 = UTF8_ACCEPT; // a close reason is its own text
    if (this.len === 0) return this.frameDone();
    this.state = S_PAYLOAD;
    return 0;
  }

  /** Payload bytes chunk[start, end) of the current frame (pos = offset of `start` in the payload). */
  private payload(chunk: Buffer, start: number, end: number): number {
    const op = this.opcode;
    if (op === OP_CLOSE) return this.closePayload(chunk, start, end);
    if (op >= 0x8 || this.msg !== M_TEXT || start === end) return 0; // skipped: binary, ping/pong, compressed
    let data: Buffer;
    if (this.masked) {
      // Only text is ever unmasked, into a copy: the original chunk is forwarded as it came.
      data = Buffer.allocUnsafe(end - start);
      unmaskInto(data, chunk, start, end, this.mask, this.pos);
    } else {
      data = chunk.subarray(start, end);
    }
    const st = utf8Step(this.utf8, data, 0, data.length);
    if (st === UTF8_REJECT) return this.err(CLOSE_INVALID_DATA, 'invalid UTF-8');
    this.utf8 = st;
    const last = this.fin && this.pos + (end - start) === this.len;
    if (last && st !== UTF8_ACCEPT) return this.err(CLOSE_INVALID_DATA, 'invalid UTF-8');
    return this.sink.textData(this, data, last);
  }

  private closePayload(chunk: Buffer, start: number, end: number): number {
    for (let i = start, p = this.pos; i < end; i++, p++) {
      const b = this.masked ? chunk[i] ^ ((this.mask >>> ((3 - (p & 3)) << 3)) & 0xff) : chunk[i];
      if (p < 2) {
        this.closeCode = (this.closeCode << 8) | b;
        if (p === 1 && !validCloseCode(this.closeCode)) return this.err(CLOSE_PROTOCOL_ERROR, 'invalid close code');
      } else {
        const st = utf8Byte(this.utf8, b);
        if (st === UTF8_REJECT) return this.err(CLOSE_INVALID_DATA, 'invalid UTF-8 in close reason');
        this.utf8 = st;
      }
    }
    return 0;
  }

  private frameDone(): number {
    this.state = S_HEAD0;
    const op = this.opcode;
    if (op === OP_CLOSE) {
      this.sawClose = true;
      if (this.len > 2 && this.utf8 !== UTF8_ACCEPT) return this.err(CLOSE_INVALID_DATA, 'invalid UTF-8 in close reason');
      return 0;
    }
    if (op >= 0x8) return 0;
    const text = this.msg === M_TEXT;
    if (this.fin) {
      this.msg = M_NONE;
      this.msgLen = 0;
    }
    // An empty final text frame still ends the message for the sink.
    if (text && this.len === 0) {
      if (this.fin && this.utf8 !== UTF8_ACCEPT) return this.err(CLOSE_INVALID_DATA, 'invalid UTF-8');
      if (this.fin) return this.sink.textData(this, EMPTY, true);
    }
    return 0;
  }

  private err(code: number, reason: string): number {
    this.reason = reason;
    return code;
  }
}

const EMPTY = Buffer.alloc(0);

/** dst[k] = src[start + k] ^ mask byte (offset + k) mod 4. */
function unmaskInto(dst: Buffer, src: Buffer, start: number, end: number, mask: number, offset: number): void {
  // Rotate the key so that its first byte lines up with payload offset `offset`.
  const sh = (offset & 3) << 3;
  const r = sh === 0 ? mask : ((mask << sh) | (mask >>> (32 - sh))) >>> 0;
  const a = r >>> 24, b = (r >>> 16) & 0xff, c = (r >>> 8) & 0xff, d = r & 0xff;
  let k = 0;
  const n = end - start;
  for (; k + 3 < n; k += 4) {
    const s = start + k;
    dst[k] = src[s] ^ a;
    dst[k + 1] = src[s + 1] ^ b;
    dst[k + 2] = src[s + 2] ^ c;
    dst[k + 3] = src[s + 3] ^ d;
  }
  for (; k < n; k++) dst[k] = src[start + k] ^ ((k & 3) === 0 ? a : (k & 3) === 1 ? b : c);
}

/** Close codes a peer may send (RFC 6455 §7.4; 1004-1006 and 1015 are never sent on the wire). */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * Encodes a close frame. `maskKey` (a 32-bit number) is required towards a server, since client
 * frames must be masked; towards a client pass null. The reason is cut to fit 123 bytes.
 */
export function encodeClose(code: number, reason: string, maskKey: number | null): Buffer {
  let r: Buffer = Buffer.from(reason, "utf8");
  if (r.length > 123) r = truncateUtf8(r, 123);
  const len = 2 + r.length;
  const head = maskKey === null ? 2 : 6;
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x80 | OP_CLOSE;
  out[1] = (maskKey === null ? 0 : 0x80) | len;
  out.writeUInt16BE(code, head);
  r.copy(out, head + 2);
  if (maskKey !== null) {
    out.writeUInt32BE(maskKey >>> 0, 2);
    for (let k = 0; k < len; k++) out[head + k] ^= (maskKey >>> ((3 - (k & 3)) << 3)) & 0xff;
  }
  return out;
}

/** Cuts a UTF-8 buffer to at most `max` bytes without splitting a code point. */
function truncateUtf8(b: Buffer, max: number): Buffer {
  let end = max;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}
