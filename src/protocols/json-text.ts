// An incremental JSON text extractor: a state machine over bytes that pulls the conversation
// text and the tool-call arguments out of LLM and MCP JSON without parsing whole documents or
// keeping them. Escapes are decoded (the scanner sees "\n" as a newline, not a backslash and an
// n), UTF-8 split across chunks is reassembled, and usage numbers and tool calls are counted.
//
// Two modes:
// - `stream`: SSE events / NDJSON lines of deltas. Only content strings are taken, and they are
//   joined with nothing between them, so "ign" + "ore previous" in two deltas reads as one text.
// - `whole`: one JSON body. Every string value but metadata (ids, roles, model names) is taken,
//   each followed by a newline.
import { StringDecoder } from 'node:string_decoder';
import { ChoiceScopes, type SegmentSink } from './choice-scopes.js';

const enum S { Value, Str, Esc, Uni, Num, Lit }
const enum Ch { Skip, Text, Tool, Key, Type }

const MAX_DEPTH = 64;
const MAX_KEY = 32;

/** Keys whose string values are content when streaming deltas. */
const STREAM_TEXT = new Set(['content', 'text', 'refusal', 'response']);
const TOOL_KEYS = new Set(['arguments', 'partial_json']);
/** Keys whose values are not conversation text (in whole mode everything else is scanned). */
const META_KEYS = new Set(['id', 'role', 'model', 'object', 'finish_reason', 'stop_reason', 'call_id', 'tool_call_id',
  'tool_use_id', 'system_fingerprint', 'status', 'jsonrpc', 'method', 'service_tier', 'stop_sequence', 'index',
  'created', 'media_type', 'data', 'signature', 'encrypted_content', 'logprobs']);
const TOOL_CALL_TYPES = new Set(['function', 'tool_use', 'function_call', 'server_tool_use', 'mcp_call']);

/**
 * Keys seen recently, by a hash of their bytes: JSON bodies repeat the same few dozen keys, and
 * making a string of each key was a third of this extractor's time. Bounded; a miss replaces.
 */
const KEY_SLOTS = 256;
const keyTable: string[] = new Array<string>(KEY_SLOTS).fill('');

/** The key buf[s, e) (ASCII or Latin-1 bytes, no escapes) as a string, from the table when there. */
function internKey(buf: Buffer, s: number, e: number): string {
  let h = e - s;
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i], 16777619);
  const slot = (h >>> 0) & (KEY_SLOTS - 1);
  const k = keyTable[slot];
  if (k.length === e - s) {
    let i = 0;
    while (i < k.length && k.charCodeAt(i) === buf[s + i]) i++;
    if (i === k.length) return k;
  }
  const fresh = buf.toString('latin1', s, e);
  keyTable[slot] = fresh;
  return fresh;
}

export class JsonTextExtractor {
  /** text taken since the owner last drained it */
  text = '';
  tool = '';
  toolCalls = 0;
  inTokens = 0;
  outTokens = 0;
  totalTokens = 0;

  private state: S = S.Value;
  /** one bit per nesting level below MAX_DEPTH (1: object, 0: array), in two words: no typed array per extractor */
  private objLo = 0;
  private objHi = 0;
  private depth = 0;
  private expectKey = false;
  private ch: Ch = Ch.Skip;
  private key = '';
  private lastKey = '';
  private typeVal = '';
  /** the first "type" value of the document (an SSE event's type) */
  private eventType = '';
  private toolDepth = -1;
  private skipDepth = -1;
  /** inside tool definitions (whole mode): their text is read, their types are no tool calls */
  private defsDepth = -1;
  /** the body held tool definitions (an MCP tools/list result): the tools gate judges those */
  sawDefs = false;
  private uni = 0;
  private uniLeft = 0;
  private numKind = 0;
  private num = 0;
  private numDone = false;
  private decoder: StringDecoder | null = null;
  private decoding = false;
  /** stream mode with a sink: text goes out per choice (choice-scopes.ts) instead of into `text` */
  private scopes: ChoiceScopes | null = null;

  constructor(private readonly mode: 'stream' | 'whole') {}

  routeTo(sink: SegmentSink): void {
    this.scopes = new ChoiceScopes(this, sink);
  }

  /** the first `type` value of the current document (an SSE event's type), '' if none yet */
  get type(): string {
    return this.eventType;
  }

  /** Between chunks: routed text whose choice is known goes out now (bounded wait otherwise). */
  flushKnown(): void {
    this.scopes?.flushKnown();
  }

  /** A new document begins (next SSE event, next NDJSON line). */
  reset(): void {
    this.flushString();
    this.state = S.Value;
    this.depth = 0;
    this.expectKey = false;
    this.lastKey = '';
    this.eventType = '';
    this.toolDepth = -1;
    this.skipDepth = -1;
    this.defsDepth = -1;
    this.numKind = 0;
  }

  /** Bytes held: a few fields and the depth stack. */
  bytes(): number {
    return 160 + MAX_DEPTH + (this.decoder ? 64 : 0) + (this.text.length + this.tool.length) * 2;
  }

  write(buf: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case S.Value: {
          const c = buf[i++];
          if (c === 34) this.startString();
          else if (c === 123 || c === 91) this.open(c === 123 ? 1 : 2);
          else if (c === 125 || c === 93) this.close();
          else if (c === 58) this.expectKey = false;
          else if (c === 44) this.expectKey = this.inObject();
          else if (c === 45 || (c >= 48 && c <= 57)) this.startNumber(c);
          else if (c >= 97 && c <= 122) this.state = S.Lit;
          continue;
        }
        case S.Str: {
          let j = i;
          let high = false;
          while (j < end) {
            const c = buf[j];
            if (c === 34 || c === 92) break;
            if (c >= 128) high = true;
            j++;
          }
          if (j > i && this.ch !== Ch.Skip) {
            // A whole key in one run, no escapes: the interned string, not a new slice per key.
            if (this.ch === Ch.Key && !high && j < end && buf[j] === 34 && this.key === '' && j - i <= MAX_KEY) this.key = internKey(buf, i, j);
            else this.take(buf, i, j, high);
          }
          if (j < end) {
            if (buf[j] === 34) this.endString();
            else this.state = S.Esc;
            i = j + 1;
          } else {
            i = j;
          }
          continue;
        }
        case S.Esc: {
          const c = buf[i++];
          this.state = S.Str;
          if (c === 117) {
            this.state = S.Uni;
            this.uni = 0;
            this.uniLeft = 4;
            continue;
          }
          if (this.ch === Ch.Skip) continue;
          this.flushDecoder();
          this.put(c === 110 ? '\n' : c === 116 ? '\t' : c === 114 ? '\r' : c === 98 ? '\b' : c === 102 ? '\f' : String.fromCharCode(c));
          continue;
        }
        case S.Uni: {
          const c = buf[i++];
          const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : 0;
          this.uni = (this.uni << 4) | d;
          if (--this.uniLeft === 0) {
            this.state = S.Str;
            if (this.ch !== Ch.Skip) {
              this.flushDecoder();
              // Surrogate halves are put one by one: JS strings are UTF-16, the pair reassembles.
              this.put(String.fromCharCode(this.uni));
            }
          }
          continue;
        }
        case S.Num: {
          const c = buf[i];
          if ((c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45) {
            // token counts are integers: stop at a fraction or exponent, keep the integer part
            if (c === 46 || c === 101 || c === 69) this.numDone = true;
            else if (c >= 48 && c <= 57 && !this.numDone) this.num = this.num * 10 + (c - 48);
            i++;
            continue;
          }
          this.endNumber();
          this.state = S.Value;
          continue;
        }
        case S.Lit: {
          const c = buf[i];
          if (c >= 97 && c <= 122) {
            i++;
            continue;
          }
          this.state = S.Value;
          continue;
        }
      }
    }
  }

  /** The stream ended. */
  end(): void {
    if (this.state === S.Num) this.endNumber();
    this.flushString();
    this.scopes?.end(this.eventType);
  }

  private inObject(): boolean {
    const d = this.depth - 1;
    if (d < 0 || d >= MAX_DEPTH) return false;
    return ((d < 32 ? this.objLo >>> d : this.objHi >>> (d - 32)) & 1) === 1;
  }

  private open(kind: number): void {
    const key = this.inObject() ? this.lastKey : this.depth > 0 ? this.lastKey : '';
    const d = this.depth;
    if (d < MAX_DEPTH) {
      const bit = 1 << (d & 31);
      if (d < 32) this.objLo = kind === 1 ? this.objLo | bit : this.objLo & ~bit;
      else this.objHi = kind === 1 ? this.objHi | bit : this.objHi & ~bit;
    }
    this.scopes?.open(kind === 2, key, d);
    this.depth++;
    if (this.skipDepth < 0 && this.toolDepth < 0) {
      // A streamed delta never carries tool definitions (a Responses event echoes them); a whole
      // body does when it is an MCP tools/list result, whose descriptions the model will read.
      if (key === 'tools' || key === 'functions') {
        if (this.mode === 'stream') this.skipDepth = this.depth;
        else if (this.defsDepth < 0) { this.defsDepth = this.depth; this.sawDefs = true; }
      } else if (key === 'input' || key === 'arguments') this.toolDepth = this.depth;
    }
    this.expectKey = kind === 1;
  }

  private close(): void {
    this.scopes?.close(this.depth);
    if (this.depth === this.skipDepth) this.skipDepth = -1;
    if (this.depth === this.defsDepth) this.defsDepth = -1;
    if (this.depth === this.toolDepth) this.toolDepth = -1;
    if (this.depth > 0) this.depth--;
    this.expectKey = false;
  }

  private startString(): void {
    this.state = S.Str;
    if (this.expectKey && this.inObject()) {
      this.ch = Ch.Key;
      this.key = '';
      return;
    }
    this.ch = this.classify();
    if (this.ch === Ch.Type) this.typeVal = '';
    this.scopes?.string(this.lastKey, this.depth);
  }

  private classify(): Ch {
    if (this.skipDepth >= 0) return Ch.Skip;
    if (this.toolDepth >= 0) return Ch.Tool;
    const k = this.lastKey;
    if (k === 'type') return Ch.Type;
    if (TOOL_KEYS.has(k)) return Ch.Tool;
    if (this.mode === 'stream') {
      if (this.eventType.startsWith('response.')) {
        if (k !== 'delta') return Ch.Skip;
        return this.eventType.includes('arguments') ? Ch.Tool : Ch.Text;
      }
      return STREAM_TEXT.has(k) || k === 'delta' ? Ch.Text : Ch.Skip;
    }
    return META_KEYS.has(k) ? Ch.Skip : Ch.Text;
  }

  private take(buf: Buffer, s: number, e: number, high: boolean): void {
    let piece: string;
    if (high || this.decoding) {
      if (!this.decoder) this.decoder = new StringDecoder('utf8');
      this.decoding = true;
      piece = this.decoder.write(buf.subarray(s, e));
    } else {
      piece = buf.toString('latin1', s, e);
    }
    this.put(piece);
  }

  private put(piece: string): void {
    switch (this.ch) {
      case Ch.Text: this.text += piece; break;
      case Ch.Tool: this.tool += piece; break;
      case Ch.Key: if (this.key.length < MAX_KEY) this.key += piece; break;
      case Ch.Type: if (this.typeVal.length < 64) this.typeVal += piece; break;
      default: break;
    }
  }

  private flushDecoder(): void {
    if (this.decoding) {
      const rest = this.decoder!.end();
      this.decoding = false;
      if (rest) this.put(rest);
    }
  }

  private flushString(): void {
    if (this.state === S.Str || this.state === S.Esc || this.state === S.Uni) this.flushDecoder();
  }

  private endString(): void {
    this.flushDecoder();
    this.state = S.Value;
    const ch = this.ch;
    this.ch = Ch.Skip;
    if (ch === Ch.Key) {
      this.lastKey = this.key;
      return;
    }
    if (ch === Ch.Type) {
      const t = this.typeVal;
      if (this.eventType === '') this.eventType = t;
      if (this.skipDepth < 0 && this.defsDepth < 0 && TOOL_CALL_TYPES.has(t)
        && (!this.eventType.startsWith('response.') || this.eventType === 'response.output_item.added')) this.toolCalls++;
      return;
    }
    if (this.mode === 'whole') {
      if (ch === Ch.Text) this.text += '\n';
      else if (ch === Ch.Tool) this.tool += '\n';
    }
  }

  private startNumber(c: number): void {
    const k = this.lastKey;
    this.numKind = k === 'total_tokens' ? 3 : k === 'prompt_tokens' || k === 'input_tokens' ? 1
      : k === 'completion_tokens' || k === 'output_tokens' ? 2 : 0;
    if (this.numKind === 0 && this.scopes?.wantsNumber(k, this.depth)) this.numKind = 4;
    this.num = c === 45 ? 0 : c - 48;
    this.numDone = false;
    this.state = S.Num;
  }

  private endNumber(): void {
    const n = this.num;
    if (this.numKind === 1) this.inTokens = n;
    else if (this.numKind === 2) this.outTokens = n;
    else if (this.numKind === 3) this.totalTokens = n;
    else if (this.numKind === 4) this.scopes!.number(this.lastKey, this.depth, n);
    this.numKind = 0;
  }
}
