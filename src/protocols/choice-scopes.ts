// Which choice a piece of streamed text belongs to. One SSE stream can carry several texts at
// once: OpenAI `n` choices (`choices[i].index`), Anthropic content blocks (`index` on the event),
// Responses output parts (`output_index`, `content_index`). Scanned as one text, two interleaved
// choices hid a key that neither carried whole, so the extractor hands each piece to a sink with
// its choice key. The key is known only once its number is read, which may come after the text
// in the same element or event: text waits in the extractor until then (bounded).
import type { JsonTextExtractor } from './json-text.js';

/** a Responses part's key: output_index * this + content_index */
export const PART_STRIDE = 256;
/** pending text of a scope whose key is not known yet is flushed past this many characters */
const MAX_UNKEYED = 4096;

export interface SegmentSink {
  /** `text` of choice `key` (tool-call arguments when `tool`); `final`: that choice's text is over */
  segment(key: number, text: string, tool: boolean, final: boolean): void;
}

export class ChoiceScopes {
  private choicesDepth = -1;
  private elemDepth = -1;
  private elemPos = 0;
  private elemKey = -1;
  private elemFinal = false;
  private evIndex = -1;
  private evOut = -1;
  private evPart = -1;

  constructor(private readonly json: JsonTextExtractor, private readonly sink: SegmentSink) {}

  /** An object or array opens at `depth` (before the extractor counts it) under `key`. */
  open(array: boolean, key: string, depth: number): void {
    if (!array && depth === this.choicesDepth && this.elemDepth < 0) {
      // an element of `choices`: text before it was the event's, not this choice's
      this.flush(false);
      this.elemDepth = depth + 1;
      this.elemPos++;
      this.elemKey = -1;
      this.elemFinal = false;
    } else if (array && key === 'choices' && this.choicesDepth < 0) {
      this.choicesDepth = depth + 1;
    }
  }

  /** The object or array at `depth` closes. */
  close(depth: number): void {
    if (depth === this.elemDepth) {
      this.flush(this.elemFinal);
      this.elemDepth = -1;
    } else if (depth === this.choicesDepth) {
      this.choicesDepth = -1;
    }
  }

  /** A string value begins under `key` at `depth`: a choice's finish_reason ends its text. */
  string(key: string, depth: number): void {
    if (depth === this.elemDepth && key === 'finish_reason') this.elemFinal = true;
  }

  /** A number under `key` at `depth`: true when it is a choice key (taken here). */
  number(key: string, depth: number, n: number): void {
    if (depth === this.elemDepth) {
      if (key === 'index') this.elemKey = n;
    } else if (depth === 1 && this.elemDepth < 0) {
      if (key === 'index') this.evIndex = n;
      else if (key === 'output_index') this.evOut = n;
      else if (key === 'content_index') this.evPart = Math.min(n, PART_STRIDE - 1);
    }
  }

  wantsNumber(key: string, depth: number): boolean {
    return depth === this.elemDepth ? key === 'index'
      : depth === 1 && this.elemDepth < 0 && (key === 'index' || key === 'output_index' || key === 'content_index');
  }

  /** Between chunks: text whose key is known goes now rather than at its scope's end. */
  flushKnown(): void {
    const known = this.elemDepth >= 0 ? this.elemKey >= 0 : this.evIndex >= 0 || (this.evOut >= 0 && this.evPart >= 0);
    if (known || this.json.text.length + this.json.tool.length > MAX_UNKEYED) this.flush(false);
  }

  /**
   * A document (an SSE event) of `type` ended: its text goes to its choice; the next starts with no
   * scope. An Anthropic block's stop and a Responses part's `.done` end that choice's text.
   */
  end(type: string): void {
    if (this.elemDepth >= 0) this.flush(this.elemFinal);
    else this.flush(type === 'content_block_stop' || (type.startsWith('response.') && type.endsWith('.done')));
    this.choicesDepth = this.elemDepth = -1;
    this.elemPos = 0;
    this.elemKey = this.evIndex = this.evOut = this.evPart = -1;
    this.elemFinal = false;
  }

  private key(): number {
    if (this.elemDepth >= 0) return this.elemKey >= 0 ? this.elemKey : this.elemPos - 1;
    if (this.evOut >= 0) return this.evOut * PART_STRIDE + Math.max(0, this.evPart);
    return this.evIndex >= 0 ? this.evIndex : 0;
  }

  private flush(final: boolean): void {
    const j = this.json;
    const key = this.key();
    if (j.text.length > 0) { const t = j.text; j.text = ''; this.sink.segment(key, t, false, false); }
    if (j.tool.length > 0) { const t = j.tool; j.tool = ''; this.sink.segment(key, t, true, false); }
    if (final) this.sink.segment(key, '', false, true);
  }
}
