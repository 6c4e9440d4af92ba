// A keyed digest of conversation turns, so that the request scan can skip turns a session had
// scanned before. It must not collide on purpose: a 32-bit FNV-1a did (a benign/malicious pair
// was found offline in seconds, and the malicious turn went upstream unscanned). SHA-256 keyed
// with 32 random bytes drawn once per process, over a framing in which every string carries its
// length, so no two different values share an input; the first 96 bits are kept.
import { createHash, randomBytes, type Hash } from 'node:crypto';

const KEY = randomBytes(32);
const MAX_DEPTH = 64;

/** A running digest over turns, oldest first; `mark()` gives the digest of the turns so far. */
export class TurnHash {
  private readonly h: Hash;
  /** framed text of the current turn, handed to the hash once per turn */
  private acc = '';

  constructor() {
    this.h = createHash('sha256');
    this.h.update(KEY);
  }

  add(v: unknown): void {
    this.acc = '';
    this.frame(v, 0);
    this.h.update(this.acc, 'utf8');
    this.acc = '';
  }

  /** The digest of every turn added so far (the running hash goes on). */
  mark(): string {
    return this.h.copy().digest('base64').slice(0, 16);
  }

  /** The digest of every turn added, ending the hash: no copy (a Hash object less per request). */
  final(): string {
    return this.h.digest('base64').slice(0, 16);
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
