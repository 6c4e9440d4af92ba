// Finds the session ID in a JSON request body as it streams, without parsing the body:
// the top-level `user` (OpenAI) or `metadata.user_id` (Anthropic). OpenAI SDKs write `user`
// after `messages`, so the whole body has to be seen, but only as bytes: no tree, no strings
// other than the ID itself, nothing kept between chunks but a few counters.
//
// Semantics match sessionIdFromJson() over JSON.parse: a valid `user`, else a valid
// `metadata.user_id`; the last of duplicate keys wins. Differences, all towards "no ID":
// a value or key written with backslash escapes is not decoded and counts as invalid, and the
// body must be a complete top-level object (a body that never closes gives no ID). The scanner
// does not validate the rest of the JSON; it is not a parser.

const MAX_ID = 128;
const MAX_KEY = 8; // the longest key of interest is "metadata"

const K_NONE = 0;
const K_USER = 1;
const K_METADATA = 2;
const K_USER_ID = 3;

// byte classes of [A-Za-z0-9._:-]
const ID_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-') ID_CHAR[c.charCodeAt(0)] = 1;

export class BodyIdScanner {
  private depth = 0;
  private started = false;
  private done = false;
  private closed = false;
  private inStr = false;
  private esc = false;
  private keyNext = false; // the next string at this level is a key
  private capturing: 'key' | 'value' | null = null;
  private keyLen = 0;
  private keyBad = false;
  private readonly key = new Uint8Array(MAX_KEY);
  private pendingKey = K_NONE; // the key just read, waiting for its ':'
  private valueFor = K_NONE; // the key whose value comes next
  private capturedFor = K_NONE;
  private inMeta = false; // the object at depth 2 is the top-level `metadata`
  private valLen = 0;
  private valBad = false;
  private val: Uint8Array | undefined;
  private user: string | null | undefined; // null: present but not a valid ID
  private metaUser: string | null | undefined;

  /** Feeds the next chunk; true once the answer is known (more chunks change nothing). */
  feed(chunk: Uint8Array): boolean {
    if (this.done) return true;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inStr) {
        this.strByte(c);
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (!this.started) {
        // a UTF-8 byte order mark is tolerated before the object
        if (c === 0xef || c === 0xbb || c === 0xbf) continue;
        this.started = true;
        if (c !== 0x7b /* { */) return this.finish(false);
        this.depth = 1;
        this.keyNext = true;
        continue;
      }
      if (this.valueFor !== K_NONE) {
        const k = this.valueFor;
        this.valueFor = K_NONE;
        if (c === 0x22 /* " */ && (k === K_USER || k === K_USER_ID)) {
          this.inStr = true;
          this.capturing = 'value';
          this.capturedFor = k;
          this.valLen = 0;
          this.valBad = false;
          continue;
        }
        if (k === K_METADATA && c === 0x7b) {
          this.depth = 2;
          this.inMeta = true;
          this.keyNext = true;
          continue;
        }
        // a value of another type: a non-string user is as good as absent (a later duplicate
        // key wins, as in JSON.parse)
        if (k === K_USER) this.user = undefined;
        else if (k === K_USER_ID) this.metaUser = undefined;
      }
      switch (c) {
        case 0x22: // "
          this.inStr = true;
          if (this.keyNext) {
            this.keyNext = false;
            this.capturing = 'key';
            this.keyLen = 0;
            this.keyBad = false;
          } else {
            this.capturing = null;
          }
          break;
        case 0x3a: // :
          if (this.pendingKey !== K_NONE) {
            this.valueFor = this.pendingKey;
            this.pendingKey = K_NONE;
          }
          break;
        case 0x2c: // ,
          if (this.depth === 1 || (this.depth === 2 && this.inMeta)) this.keyNext = true;
          break;
        case 0x7b: // {
        case 0x5b: // [
          this.depth++;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.depth--;
          if (this.depth < 2) this.inMeta = false;
          if (this.depth === 0) return this.finish(true);
          break;
        default:
          break;
      }
    }
    return false;
  }

  /** The body's valid session ID, or undefined (none, invalid, not a JSON object, incomplete). */
  result(): string | undefined {
    if (!this.closed) return undefined;
    return this.user ?? this.metaUser ?? undefined;
  }

  private finish(closed: boolean): boolean {
    this.closed = closed;
    this.done = true;
    return true;
  }

  private strByte(c: number): void {
    if (this.esc) {
      this.esc = false;
      if (this.capturing === 'key') this.keyBad = true;
      else if (this.capturing === 'value') this.valBad = true;
      return;
    }
    if (c === 0x5c /* \ */) {
      this.esc = true;
      return;
    }
    if (c === 0x22) {
      this.inStr = false;
      if (this.capturing === 'key') this.endKey();
      else if (this.capturing === 'value') this.endValue();
      this.capturing = null;
      return;
    }
    if (this.capturing === 'key') {
      if (this.keyLen < MAX_KEY) this.key[this.keyLen++] = c;
      else this.keyBad = true;
    } else if (this.capturing === 'value') {
      if (this.valLen >= MAX_ID || ID_CHAR[c] === 0) {
        this.valBad = true;
        return;
      }
      (this.val ??= new Uint8Array(MAX_ID))[this.valLen++] = c;
    }
  }

  private endKey(): void {
    this.pendingKey = K_NONE;
    if (this.keyBad) return;
    const k = this.key;
    const n = this.keyLen;
    if (this.depth === 1) {
      if (n === 4 && k[0] === 0x75 && k[1] === 0x73 && k[2] === 0x65 && k[3] === 0x72) this.pendingKey = K_USER;
      else if (n === 8 && eq(k, 'metadata')) this.pendingKey = K_METADATA;
    } else if (this.depth === 2 && this.inMeta && n === 7 && eq(k, 'user_id')) {
      this.pendingKey = K_USER_ID;
    }
  }

  private endValue(): void {
    const v = this.valBad || this.valLen === 0 || onlyDots(this.val!, this.valLen) ? null : Buffer.from(this.val!.buffer, 0, this.valLen).toString('latin1');
    if (this.capturedFor === K_USER) this.user = v;
    else this.metaUser = v;
  }
}

/** `.`, `..`: not session IDs (identity.ts) */
function onlyDots(v: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (v[i] !== 0x2e) return false;
  return true;
}

function eq(a: Uint8Array, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (a[i] !== s.charCodeAt(i)) return false;
  return true;
}

/** The session ID of a whole body held in memory (see BodyIdScanner). */
export function sessionIdFromBody(body: Uint8Array): string | undefined {
  const s = new BodyIdScanner();
  s.feed(body);
  return s.result();
}
