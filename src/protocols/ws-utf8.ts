// Incremental UTF-8 validation for WebSocket text messages (RFC 6455 §8.1, RFC 3629 §4).
// A text message may be split across frames and each frame across socket chunks, so a code point
// can straddle any boundary. The whole validator state fits in one small integer that the frame
// parser keeps: no buffer is held between chunks.
//
// State layout: bits 0-1 = continuation bytes still needed (0-3); bits 8-15 / 16-23 = the lowest /
// highest byte allowed next. The narrowed ranges after E0, ED, F0 and F4 reject overlong forms,
// UTF-16 surrogates and code points above U+10FFFF.
import { isUtf8 } from 'node:buffer';

/** The validator's state at a code point boundary. */
export const UTF8_ACCEPT = 0;
/** Returned by utf8Step when the bytes are not UTF-8. */
export const UTF8_REJECT = -1;

/** Advances the validator over buf[start, end). Returns the new state, or UTF8_REJECT. */
export function utf8Step(state: number, buf: Uint8Array, start: number, end: number): number {
  // Most agent traffic is ASCII JSON: when no code point is pending and the run ends on a
  // boundary, the native checker answers for the whole run at once.
  if (state === UTF8_ACCEPT && end - start >= 64 && isUtf8(buf.subarray(start, end))) return UTF8_ACCEPT;
  return slowStep(state & 3, (state >>> 8) & 0xff, (state >>> 16) & 0xff, buf, start, end);
}

function slowStep(need: number, lo: number, hi: number, buf: Uint8Array, i: number, end: number): number {
  for (; i < end; i++) {
    const b = buf[i];
    if (need === 0) {
      if (b < 0x80) continue;
      if (b < 0xc2) return UTF8_REJECT; // stray continuation byte or overlong 2-byte lead
      if (b < 0xe0) { need = 1; lo = 0x80; hi = 0xbf; }
      else if (b < 0xf0) { need = 2; lo = b === 0xe0 ? 0xa0 : 0x80; hi = b === 0xed ? 0x9f : 0xbf; }
      else if (b < 0xf5) { need = 3; lo = b === 0xf0 ? 0x90 : 0x80; hi = b === 0xf4 ? 0x8f : 0xbf; }
      else return UTF8_REJECT;
    } else {
      if (b < lo || b > hi) return UTF8_REJECT;
      need--;
      lo = 0x80;
      hi = 0xbf;
    }
  }
  return need === 0 ? UTF8_ACCEPT : need | (lo << 8) | (hi << 16);
}

/** Advances the validator by one byte (close reasons are checked byte by byte). */
export function utf8Byte(state: number, b: number): number {
  let need = state & 3;
  if (need === 0) {
    if (b < 0x80) return UTF8_ACCEPT;
    if (b < 0xc2) return UTF8_REJECT;
    if (b < 0xe0) return 1 | (0x80 << 8) | (0xbf << 16);
    if (b < 0xf0) return 2 | ((b === 0xe0 ? 0xa0 : 0x80) << 8) | ((b === 0xed ? 0x9f : 0xbf) << 16);
    if (b < 0xf5) return 3 | ((b === 0xf0 ? 0x90 : 0x80) << 8) | ((b === 0xf4 ? 0x8f : 0xbf) << 16);
    return UTF8_REJECT;
  }
  if (b < ((state >>> 8) & 0xff) || b > ((state >>> 16) & 0xff)) return UTF8_REJECT;
  need--;
  return need === 0 ? UTF8_ACCEPT : need | (0x80 << 8) | (0xbf << 16);
}
