// The response side: one inspector per upstream response, chosen by content type. It decodes the
// stream (SSE events, NDJSON lines, one JSON body, or plain bytes), routes conversation text and
// tool-call arguments to two scanner contexts, counts tokens and tool calls, and checks the
// streaming metric rules. All state is bounded; nothing here keeps the body.
import { StringDecoder } from 'node:string_decoder';
import { JsonTextExtractor } from '../protocols/json-text.js';
import { NdjsonDecoder } from '../protocols/ndjson.js';
import { SseDecoder, type SseSink } from '../protocols/sse.js';
import { REQ_TEXT, REQ_TOOL, RESP_TEXT, RESP_TOOL } from './channels.js';
import type { Direction } from '../events.js';
import type { CompiledPolicy } from './compile.js';
import type { MetricTable } from './metrics.js';
import { ScanContext } from './scanner.js';
import { ChoiceTable } from './choices.js';
import type { SegmentSink } from '../protocols/choice-scopes.js';
import type { HoldSpec } from './hold-rules.js';
import { SseHold } from './sse-hold.js';
import type { Hit, StreamInspector } from './types.js';
import type { Detector } from './detect/detector.js';
import { StreamDetect } from './detect/stream.js';

export type BodyKind = 'sse' | 'ndjson' | 'json' | 'text';

export function bodyKind(contentType: string | undefined): BodyKind {
  // the usual exact values need no lowercased copy
  if (contentType === 'application/json' || contentType === 'application/json; charset=utf-8') return 'json';
  if (contentType === 'text/event-stream' || contentType === 'text/event-stream; charset=utf-8') return 'sse';
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('text/event-stream')) return 'sse';
  if (ct.includes('ndjson') || ct.includes('jsonl') || ct.includes('json-seq')) return 'ndjson';
  if (ct.includes('json')) return 'json';
  return 'text';
}

/** What the inspector needs from its engine: compiled rules, metric state, the hit counter. */
export interface InspectorHost {
  readonly policy: CompiledPolicy;
  readonly metrics: MetricTable;
  readonly excerptBytes: number;
  countHits(hits: Hit[]): void;
  streamBytes: number;
  /** the preset's language signals, scored over the stream's text (null when the preset has none) */
  readonly detector: Detector | null;
  /** what a streamed answer holds back; null: nothing (audit mode, or no rule to hold) */
  readonly holdSpec?: HoldSpec | null;
}

const enum Ev { Unknown, Json, Text }

export class ResponseInspector implements StreamInspector, SseSink, SegmentSink {
  private readonly sse: SseDecoder | null = null;
  private readonly ndjson: NdjsonDecoder | null = null;
  private json: JsonTextExtractor | null = null;
  private utf8: StringDecoder | null = null;
  /** a message of unknown type (WebSocket): JSON if its first byte says so, so its escapes are decoded */
  private sniff: boolean;
  private eventMode: Ev = Ev.Unknown;
  /** UTF-8 decoder for SSE events whose data is plain text, not JSON */
  private sseText: StringDecoder | null = null;
  private pendingText = '';
  private textCtx: ScanContext | null = null;
  private toolCtx: ScanContext | null = null;
  /** SSE: one text per choice (choices.ts), fed by the extractor's segments */
  private choices: ChoiceTable | null = null;
  /** language signals over the text (one scorer), and over each SSE choice (one per choice key) */
  private det: StreamDetect | null = null;
  private choiceDet: Map<number, StreamDetect> | null = null;
  /** SSE answers: hold-back of text that may still complete a match (sse-hold.ts) */
  private readonly hold: SseHold | null = null;
  private output: Buffer | null = null;
  private lastEvent = false;
  private out: Hit[] | null = null;
  private reportedMetrics: number[] | null = null;
  private streamed = 0;
  private lastBytes = 0;
  private ended = false;
  /** scanner channels: the response's by default; a WebSocket message from the client scans as a request */
  private readonly textChan: number;
  private readonly toolChan: number;

  constructor(
    private readonly host: InspectorHost,
    private readonly slot: number,
    readonly kind: BodyKind,
    private readonly direction: Direction = 'response',
    sniffJson = false,
  ) {
    this.sniff = sniffJson && kind === 'text';
    this.textChan = direction === 'request' ? REQ_TEXT : RESP_TEXT;
    this.toolChan = direction === 'request' ? REQ_TOOL : RESP_TOOL;
    if (kind === 'sse') {
      this.sse = new SseDecoder(this);
      this.json = new JsonTextExtractor('stream');
      this.json.routeTo(this);
      const spec = direction === 'response' ? host.holdSpec ?? null : null;
      if (spec !== null) this.hold = new SseHold(spec, host.policy, host.excerptBytes);
    } else if (kind === 'ndjson') {
      this.ndjson = new NdjsonDecoder();
      this.json = this.ndjson.json;
    } else if (kind === 'json') {
      this.json = new JsonTextExtractor('whole');
    } else {
      this.utf8 = new StringDecoder('utf8');
    }
  }

  get tokens(): number {
    const j = this.json;
    if (j) {
      if (j.totalTokens > 0) return j.totalTokens;
      if (j.inTokens + j.outTokens > 0) return j.inTokens + j.outTokens;
    }
    const chars = (this.textCtx?.chars ?? 0) + (this.toolCtx?.chars ?? 0) + (this.choices?.chars ?? 0);
    return Math.ceil(chars / 4);
  }

  get toolCalls(): number {
    return this.json ? this.json.toolCalls : 0;
  }

  get holdsBack(): boolean {
    return this.hold !== null;
  }

  /** With hold-back: what goes out for the chunk last written (see StreamInspector.take). */
  take(): Buffer | null {
    const o = this.output;
    this.output = null;
    return o;
  }

  takeEnd(): Buffer | null {
    return this.take();
  }

  write(chunk: Buffer): Hit[] | null {
    if (this.ended) return null;
    if (this.sniff) this.sniffJson(chunk);
    this.streamed += chunk.length;
    if (this.hold !== null) this.hold.begin(chunk);
    if (this.sse) this.sse.write(chunk);
    else if (this.ndjson) this.ndjson.write(chunk);
    else if (this.json) this.json.write(chunk, 0, chunk.length);
    if (this.utf8) this.scanText(this.utf8.write(chunk));
    this.drain();
    if (this.hold !== null) this.holdDone(this.hold.finish(this.sse!.atBoundary()));
    const m = this.host.metrics;
    if (m.size > 0) {
      const now = Date.now();
      m.add(this.slot, 'bytes', chunk.length, now);
      this.metric(m.checkStream(this.slot, 'bytes', 0, now, this.reportedMetrics));
      this.metric(m.checkStream(this.slot, 'tokens', this.tokens, now, this.reportedMetrics));
      this.metric(m.checkStream(this.slot, 'tool_calls', this.toolCalls, now, this.reportedMetrics));
    }
    return this.flush();
  }

  end(): Hit[] | null {
    // idempotent: a proxy may call it on completion and again on its cleanup path
    if (this.ended) return null;
    this.ended = true;
    if (this.hold !== null) this.hold.begin(Buffer.alloc(0));
    if (this.sse) this.sse.end();
    else if (this.ndjson) this.ndjson.end();
    else if (this.json) this.json.end();
    if (this.utf8) this.scanText(this.utf8.end());
    this.drain();
    const dh = this.json?.sawDefs ? null : this.det?.end();
    if (dh) this.collect([dh]);
    if (this.choiceDet !== null) {
      for (const d of this.choiceDet.values()) {
        const h = d.end();
        if (h) this.collect([h]);
      }
    }
    if (this.textCtx) this.collect(this.textCtx.end());
    if (this.toolCtx) this.collect(this.toolCtx.end());
    if (this.choices) this.out = this.choices.end(this.out);
    if (this.hold !== null) {
      const a = this.hold.finish(true);
      const b = this.hold.end();
      this.holdDone(a !== null && b !== null ? Buffer.concat([a, b]) : a ?? b);
    }
    const out = this.flush();
    this.host.streamBytes -= this.lastBytes;
    this.lastBytes = 0;
    return out;
  }

  bytes(): number {
    return 96 + (this.json ? this.json.bytes() : 0) + (this.sse ? 48 : 0) + (this.utf8 ? 64 : 0)
      + (this.textCtx ? this.textCtx.bytes() : 0) + (this.toolCtx ? this.toolCtx.bytes() : 0)
      + (this.choices ? this.choices.bytes() : 0) + (this.det ? this.det.bytes() : 0) + this.choiceDetBytes()
      + (this.hold !== null ? this.hold.bytes() : 0);
  }

  private choiceDetBytes(): number {
    let b = 0;
    if (this.choiceDet !== null) for (const d of this.choiceDet.values()) b += d.bytes();
    return b;
  }

  /** The hold-back's output for the chunk, its hits, and a block when it could not rewrite. */
  private holdDone(out: Buffer | null): void {
    const h = this.hold!;
    this.output = out;
    if (h.hits.length > 0) { this.collect(h.hits); h.hits = []; }
    if (h.blockedBy !== null) {
      this.collect([{ rule: h.blockedBy, severity: 'high', action: 'block', direction: 'response', excerpt: 'a match in an event too large to hold back' }]);
      h.blockedBy = null;
    }
  }

  // ---- SegmentSink: one choice's text ----------------------------------------------------------
  segment(key: number, text: string, tool: boolean, final: boolean): void {
    // the language signals read what the client gets: a key held back and redacted is no "suffix"
    const seen = this.hold !== null && !tool ? this.hold.text(key, text, final) : text;
    if (final) {
      if (seen.length > 0) this.detectChoice(key, seen);
      const dh = this.choiceDet?.get(key)?.end();
      if (dh) this.collect([dh]);
      if (this.choices !== null) this.out = this.choices.final(key, this.out);
      return;
    }
    if (seen.length > 0) this.detectChoice(key, seen);
    const p = this.host.policy;
    if ((p.mask & (tool ? this.toolChan : this.textChan)) === 0 && this.host.metrics.size === 0) return;
    this.choices ??= new ChoiceTable(p, this.textChan, this.toolChan, this.direction, this.host.excerptBytes, this.host.holdSpec?.held ?? null);
    this.out = this.choices.write(key, text, tool, this.out);
  }

  private sniffJson(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && (chunk[i] === 32 || chunk[i] === 9 || chunk[i] === 10 || chunk[i] === 13)) i++;
    if (i === chunk.length) return;
    this.sniff = false;
    // {"text":"instru\u0063tions"} must read as what the receiver decodes; the raw text is still
    // scanned too, since a message that only looks like JSON ({ignore ...}) yields no strings
    if (chunk[i] === 123 || chunk[i] === 91) this.json = new JsonTextExtractor('whole');
  }

  // ---- SseSink ---------------------------------------------------------------------------------
  sseData(chunk: Buffer, start: number, end: number): void {
    if (this.eventMode === Ev.Unknown) {
      let i = start;
      while (i < end && (chunk[i] === 32 || chunk[i] === 9)) i++;
      if (i === end) return;
      this.eventMode = chunk[i] === 123 || chunk[i] === 91 ? Ev.Json : Ev.Text;
      start = i;
    }
    if (this.eventMode === Ev.Json) this.json!.write(chunk, start, end);
    else if (this.hold !== null && this.pendingText === '' && chunk.toString('latin1', start, Math.min(end, start + 6)) === '[DONE]') this.lastEvent = true;
    if (this.eventMode === Ev.Text) this.pendingText += (this.sseText ??= new StringDecoder('utf8')).write(chunk.subarray(start, end));
  }

  sseDataNewline(): void {
    if (this.eventMode === Ev.Text) this.pendingText += '\n';
  }

  sseEventEnd(): void {
    if (this.eventMode === Ev.Json) {
      this.json!.end();
      if (this.hold !== null) this.hold.eventEnd(this.sse!.eventEndAt, this.json!.type, false);
      this.json!.reset();
    } else if (this.eventMode === Ev.Text) {
      this.pendingText += '\n';
      if (this.hold !== null) this.hold.eventEnd(this.sse!.eventEndAt, '', this.lastEvent);
      this.lastEvent = false;
    }
    this.eventMode = Ev.Unknown;
  }

  // ---- internals -------------------------------------------------------------------------------
  private drain(): void {
    const j = this.json;
    if (this.sse !== null) j!.flushKnown();
    if (j) {
      if (j.text.length > 0) {
        this.scanText(j.text);
        j.text = '';
      }
      if (j.tool.length > 0) {
        this.scanTool(j.tool);
        j.tool = '';
      }
    }
    if (this.pendingText.length > 0) {
      const t = this.pendingText;
      this.pendingText = '';
      this.scanText(t);
    }
    const b = this.bytes();
    this.host.streamBytes += b - this.lastBytes;
    this.lastBytes = b;
  }

  private scanText(t: string): void {
    if (t.length === 0) return;
    this.detect(t);
    const p = this.host.policy;
    if ((p.mask & this.textChan) === 0 && this.host.metrics.size === 0) return;
    this.textCtx ??= new ScanContext(p, this.textChan, this.direction, this.host.excerptBytes);
    this.collect(this.textCtx.write(t, true));
  }

  private scanTool(t: string): void {
    this.detect(t);
    const p = this.host.policy;
    if ((p.mask & this.toolChan) === 0 && this.host.metrics.size === 0) return;
    this.toolCtx ??= new ScanContext(p, this.toolChan, this.direction, this.host.excerptBytes);
    this.collect(this.toolCtx.write(t, true));
  }

  /** Injection signals read response text, tool calls and results, and WebSocket messages too. */
  private detect(t: string): void {
    const d = this.host.detector;
    // tool definitions (an MCP tools/list result) are the tools gate's: it removes a poisoned tool
    // and lets the list through, which refusing the whole answer here would preempt
    if (d === null || t.length === 0 || this.json?.sawDefs) return;
    const h = (this.det ??= new StreamDetect(d, this.direction)).write(t);
    if (h) this.collect([h]);
  }

  /** Each choice of a stream is scored as its own text: two interleaved choices read whole. */
  private detectChoice(key: number, t: string): void {
    const d = this.host.detector;
    if (d === null || t.length === 0) return;
    const map = (this.choiceDet ??= new Map());
    let sd = map.get(key);
    if (sd === undefined) map.set(key, (sd = new StreamDetect(d, this.direction)));
    const h = sd.write(t);
    if (h) this.collect([h]);
  }

  private collect(hits: Hit[] | null): void {
    if (!hits) return;
    if (!this.out) this.out = hits;
    else for (const h of hits) this.out.push(h);
  }

  private metric(hits: Hit[] | null): void {
    if (!hits) return;
    const m = this.host.metrics;
    for (const h of hits) (this.reportedMetrics ??= []).push(m.indexOf(h.rule));
    this.collect(hits);
  }

  private flush(): Hit[] | null {
    const out = this.out;
    this.out = null;
    if (out) this.host.countHits(out);
    return out;
  }
}
