// A keyed digest of conversation turns, so that the request scan can skip turns a session had
// scanned before. It must not collide on purpose: a 32-bit FNV-1a did (a benign/malicious pair
// was found offline in seconds, and the malicious turn went upstream unscanned). SHA-256 keyed
// with 32 random bytes drawn once per process, over a framing in which every string carries its
// length, so no two different values share an input; the first 96 bits are kept. The turns are
// framed into one string and hashed in one call when a digest is asked for: an update and a copy
// per turn cost more than the hashing itself.
import { hash, randomBytes } from 'node:crypto';

/** the key, as text: it opens every hashed string (fixed length, so the framing stays unambiguous) */
const KEY = randomBytes(32).toString('base64');
const MAX_DEPTH = 64;

/** A running digest over turns, oldest first; `mark()` gives the digest of the turns so far. */
export class TurnHash {
  /** the framed text of every turn added so far */
  private acc = KEY;
  /** the last digest and the length of `acc` it was taken at */
  private last = '';
  private lastAt = 0;

  add(v: unknown): void {
    this.frame(v, 0);
  }

  /** The digest of every turn added so far (adding may go on). */
  mark(): string {
    if (this.lastAt !== this.acc.length) {
      this.last = hash('sha256', this.acc, 'base64').slice(0, 16);
      this.lastAt = this.acc.length;
    }
    return this.last;
  }

  /** The digest of every turn added (one-shot hashing has no running state to end: same as mark). */
  final(): string {
    return this.mark();
  }

  private frame(v: unknown, depth: number): void {
    if (typeof v === 'string') { this.acc += `s${v.length}:${v}`; return; }
    if (typeof v === 'number') { this.acc += `n${v};`; return; }
    if (typeof v === 'boolean') { this.acc += v ? 'T' : 'F'; return; }
    if (v === null || typeof v !== 'object') { this.acc += 'z'; return; }
    if (depth >= MAX_DEPTH) { this.frameDeep(v); return; }
    if (Array.isArray(v)) {
      this.acc += '[';
      for (const x of v) this.frame(x, depth + 1);
      this.acc += ']';
      return;
    }
    this.acc += '{';
    const o = v as Record<string, unknown>;
    for (const k in o) {
      this.acc += `k${k.length}:${k}`;
      this.frame(o[k], depth + 1);
    }
    this.acc += '}';
  }

  /** frame() without recursion, same output: 100k levels must not overflow the stack. */
  private frameDeep(root: object): void {
    const stack: unknown[] = [root];
    while (stack.length > 0) {
      const v = stack.pop();
      if (v instanceof Close) { this.acc += v.ch; continue; }
      if (v instanceof Key) { this.acc += `k${v.k.length}:${v.k}`; continue; }
      if (v === null || typeof v !== 'object') { this.frame(v, 0); continue; }
      if (Array.isArray(v)) {
        this.acc += '[';
        stack.push(CLOSE_ARRAY);
        for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
        continue;
      }
      this.acc += '{';
      stack.push(CLOSE_OBJECT);
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      for (let i = keys.length - 1; i >= 0; i--) { stack.push(o[keys[i]]); stack.push(new Key(keys[i])); }
    }
  }
}

class Close { constructor(readonly ch: string) {} }
class Key { constructor(readonly k: string) {} }
const CLOSE_ARRAY = new Close(']');
const CLOSE_OBJECT = new Close('}');
