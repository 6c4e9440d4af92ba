// An upstream answer in gzip, deflate or br is decoded before the policy reads it, and the client
// gets the decoded bytes (SPEC "What the policy sees": a response is never passed on in an
// encoding the policy could not read). Streaming through node:zlib: its window is fixed (gzip and
// deflate 32KiB; br at most the 16MiB its header asks for, no large-window mode), output is
// paused when the client is slow, and the decoded total counts against a bound (max_body), so a
// decompression bomb ends the answer instead of growing memory or the client's download.
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import { parseCodings, type Coding } from './body-encoding.js';

/** What the exchange does with the decoder's output. */
export interface DecodeHost {
  /** a decoded chunk; false: stop producing until resume() */
  decoded(chunk: Buffer): boolean;
  /** every byte the upstream sent was decoded */
  decodedEnd(): void;
  /** `too_large`: past the bound; `malformed`: not valid in its coding (or cut short) */
  decodeFailed(reason: 'too_large' | 'malformed'): void;
  /** the decoder took its input backlog: the upstream may be read again */
  decoderDrained(): void;
}

/**
 * The coding to undo for a Content-Encoding value: null when there is none (absent, identity),
 * `unreadable` for a coding the policy cannot decode (zstd, compress, unknown) or a chain of
 * several (as no upstream is offered one, refusing it is cheaper than piping decoders).
 */
export function answerCoding(value: string | undefined): Coding | null | 'unreadable' {
  const c = parseCodings(value);
  if (c === undefined) return null;
  if (c === null || c.length > 1) return 'unreadable';
  return c[0];
}

export class ResponseDecoder {
  private z: Transform | null = null;
  private total = 0;
  private done = false;
  private paused = false;
  private wrote = false;

  constructor(readonly coding: Coding, private readonly limit: number, private readonly host: DecodeHost) {}

  /** Feeds raw bytes; false when the decoder's input is backlogged (pause the upstream read). */
  write(chunk: Buffer): boolean {
    if (this.done || chunk.length === 0) return true;
    this.wrote = true;
    return (this.z ?? this.open(chunk)).write(chunk);
  }

  /** The upstream finished: flush; decodedEnd() (or decodeFailed) follows. */
  end(): void {
    if (this.done) return;
    // an empty body is valid identity: zlib would call it "unexpected end of file"
    if (!this.wrote) { this.done = true; this.host.decodedEnd(); return; }
    this.z!.end();
  }

  /** The client drained: produce again. */
  resume(): void {
    if (!this.paused || this.done) return;
    this.paused = false;
    this.z!.resume();
  }

  /** The exchange ended (cut, killed, client gone): release zlib's memory now. */
  destroy(): void {
    this.done = true;
    if (this.z !== null) { this.z.removeAllListeners(); this.z.on('error', noop); this.z.destroy(); this.z = null; }
  }

  get decodedBytes(): number { return this.total; }

  /** Bytes held: the window and zlib state, plus what waits in the stream's buffers. */
  bytes(): number {
    const z = this.z;
    if (z === null) return 0;
    const win = this.coding === 'br' ? Math.min(BR_WINDOW_MAX, Math.max(64 * 1024, this.total)) : ZLIB_STATE;
    return win + z.writableLength + z.readableLength;
  }

  private open(first: Buffer): Transform {
    const c = this.coding;
    // `deflate` is zlib-wrapped (RFC 9110), but some servers send raw deflate: take either.
    const z: Transform = c === 'gzip' ? zlib.createGunzip() : c === 'br' ? zlib.createBrotliDecompress()
      : (first[0] & 0x0f) === 8 ? zlib.createInflate() : zlib.createInflateRaw();
    this.z = z;
    z.on('data', (d: Buffer) => this.onData(d));
    z.on('end', () => { if (!this.done) { this.done = true; this.host.decodedEnd(); } });
    z.on('error', () => this.fail('malformed'));
    z.on('drain', () => { if (!this.done) this.host.decoderDrained(); });
    return z;
  }

  private onData(d: Buffer): void {
    if (this.done) return;
    this.total += d.length;
    if (this.total > this.limit) return this.fail('too_large');
    if (!this.host.decoded(d) && !this.done) {
      this.paused = true;
      this.z!.pause();
    }
  }

  private fail(reason: 'too_large' | 'malformed'): void {
    if (this.done) return;
    this.destroy();
    this.host.decodeFailed(reason);
  }
}

/** zlib inflate: the 32KiB window, its state and output chunk (node's default 16KiB) */
const ZLIB_STATE = 56 * 1024;
/** br's ring buffer grows with the output up to the window its header names (at most 16MiB) */
const BR_WINDOW_MAX = 16 * 1024 * 1024;

function noop(): void { /* a destroyed decoder's late error */ }
