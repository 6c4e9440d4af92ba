// Reads the upstream's token usage and model out of a response as it streams, whatever the framing
// (one JSON body, SSE events, NDJSON lines) and API (OpenAI chat `usage.prompt_tokens /
// completion_tokens`, Responses and Anthropic `input_tokens / output_tokens`, Anthropic cache
// tokens, OpenAI `cached_tokens`). Nothing is parsed or kept but a few numbers and a 96-byte tail.
//
// How: a native Buffer.indexOf for `_tokens"` (the end of every usage key) and `"model"`, then a
// look back for the key and forward for the number. In JSON text, a quote inside a string is
// escaped, so `"input_tokens"` followed by a colon only occurs as a real key. Streamed usage is
// cumulative (Anthropic's message_delta repeats and grows output_tokens; Responses sends usage once
// at response.completed), so each key keeps the largest value seen: a key read twice (once in the
// seam between two chunks, once in the chunk) counts once.

const NEEDLE = Buffer.from('_tokens"', 'latin1');
const MODEL = Buffer.from('"model"', 'latin1');
const TOOL_USE = Buffer.from('"type":"tool_use"', 'latin1');
const FUNCTION = Buffer.from('"type":"function"', 'latin1');
const TAIL = 96;
const KEY_MAX = 32;
const MODEL_MAX = 128;

const enum K { None, In, Out, CacheRead, CacheWrite, Cached }

function keyKind(buf: Buffer, s: number, e: number): K {
  // e is the index of `_tokens"`; [s, e) the key's stem
  const n = e - s;
  switch (n) {
    case 5: return buf.toString('latin1', s, e) === 'input' ? K.In : K.None;
    case 6: { const k = buf.toString('latin1', s, e); return k === 'prompt' ? K.In : k === 'output' ? K.Out : k === 'cached' ? K.Cached : K.None; }
    case 10: return buf.toString('latin1', s, e) === 'completion' ? K.Out : K.None;
    case 16: return buf.toString('latin1', s, e) === 'cache_read_input' ? K.CacheRead : K.None;
    case 20: return buf.toString('latin1', s, e) === 'cache_creation_input' ? K.CacheWrite : K.None;
    default: return K.None;
  }
}

export class UsageScanner {
  /** input tokens as the upstream counts them (OpenAI: includes cached; Anthropic: excludes cache) */
  input = 0;
  output = 0;
  cacheRead = 0;
  cacheWrite = 0;
  /** OpenAI's cached part of the input */
  cached = 0;
  /** a usage key was seen */
  seen = false;
  model: string | null = null;
  /** tool calls begun in the answer (`"type":"tool_use"` / `"type":"function"` in compact JSON) */
  toolCalls = 0;
  private readonly tail = Buffer.allocUnsafe(TAIL);
  private tailLen = 0;

  /** `countTools` false: the policy's inspector counts the answer's tool calls, so this does not scan for them. */
  constructor(private readonly countTools = true) {}

  write(chunk: Buffer): void {
    if (this.tailLen > 0) {
      // the seam: the end of the last chunk and the start of this one
      const head = Math.min(chunk.length, TAIL);
      const seam = Buffer.allocUnsafe(this.tailLen + head);
      this.tail.copy(seam, 0, 0, this.tailLen);
      chunk.copy(seam, this.tailLen, 0, head);
      this.scan(seam, this.tailLen);
    }
    this.scan(chunk, 0);
    const keep = Math.min(chunk.length, TAIL);
    if (keep === TAIL || this.tailLen + keep > TAIL) {
      // keep the last TAIL bytes of (tail + chunk)
      if (keep < TAIL) this.tail.copy(this.tail, 0, this.tailLen + keep - TAIL, this.tailLen);
      chunk.copy(this.tail, TAIL - keep, chunk.length - keep);
      this.tailLen = TAIL;
    } else {
      chunk.copy(this.tail, this.tailLen, chunk.length - keep);
      this.tailLen += keep;
    }
  }

  /** Input tokens including cache reads and writes. */
  get inputTotal(): number {
    return this.input + this.cacheRead + this.cacheWrite;
  }

  /** `seamAt` > 0: buf is a seam whose bytes from seamAt on are the new chunk's; tool counts are not idempotent, so a seam counts only the matches across it. */
  private scan(buf: Buffer, seamAt: number): void {
    for (let i = buf.indexOf(NEEDLE); i >= 0; i = buf.indexOf(NEEDLE, i + 1)) this.usageAt(buf, i);
    if (this.model === null) {
      const m = buf.indexOf(MODEL);
      if (m >= 0) this.modelAt(buf, m + MODEL.length);
    }
    if (!this.countTools) return;
    this.toolsIn(buf, TOOL_USE, seamAt);
    this.toolsIn(buf, FUNCTION, seamAt);
  }

  private toolsIn(buf: Buffer, needle: Buffer, seamAt: number): void {
    for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, i + 1)) {
      const end = i + needle.length;
      // in a seam only a match that straddles it; in a chunk, every match
      if (seamAt > 0 && (i >= seamAt || end <= seamAt)) continue;
      this.toolCalls++;
    }
  }

  private usageAt(buf: Buffer, at: number): void {
    let s = at;
    const min = Math.max(0, at - KEY_MAX);
    while (s > min && isKeyByte(buf[s - 1])) s--;
    if (s === 0 || buf[s - 1] !== 0x22 /* " */) return;
    const kind = keyKind(buf, s, at);
    if (kind === K.None) return;
    let p = at + NEEDLE.length;
    while (p < buf.length && isSpace(buf[p])) p++;
    if (p >= buf.length || buf[p] !== 0x3a /* : */) return;
    p++;
    while (p < buf.length && isSpace(buf[p])) p++;
    let n = 0;
    const d0 = p;
    while (p < buf.length && buf[p] >= 0x30 && buf[p] <= 0x39 && p - d0 < 15) n = n * 10 + (buf[p++] - 0x30);
    // no digits (null, an object), or the number runs to the end: the seam will read it whole
    if (p === d0 || p >= buf.length) return;
    this.seen = true;
    switch (kind) {
      case K.In: if (n > this.input) this.input = n; break;
      case K.Out: if (n > this.output) this.output = n; break;
      case K.CacheRead: if (n > this.cacheRead) this.cacheRead = n; break;
      case K.CacheWrite: if (n > this.cacheWrite) this.cacheWrite = n; break;
      case K.Cached: if (n > this.cached) this.cached = n; break;
    }
  }

  private modelAt(buf: Buffer, p: number): void {
    while (p < buf.length && isSpace(buf[p])) p++;
    if (p >= buf.length || buf[p] !== 0x3a) return;
    p++;
    while (p < buf.length && isSpace(buf[p])) p++;
    if (p >= buf.length || buf[p] !== 0x22) return;
    const s = ++p;
    while (p < buf.length && p - s <= MODEL_MAX && isModelByte(buf[p])) p++;
    if (p >= buf.length || buf[p] !== 0x22 || p === s) return;
    this.model = buf.toString('latin1', s, p);
  }
}

function isKeyByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** model names: letters, digits and . _ : / @ - (anything else ends the read) */
function isModelByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
    || c === 0x2e || c === 0x5f || c === 0x3a || c === 0x2f || c === 0x40 || c === 0x2d;
}
