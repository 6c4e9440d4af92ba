// Hold-back over an SSE answer: the bytes side. Each event whose text the per-choice hold streams
// (hold-stream.ts) leave as it was goes out as the bytes it came in, in the chunk it came in (a
// chunk of whole events is passed on as the same Buffer). An event whose text changed (a held
// suffix taken out, held text moved into it, a match replaced) is written again with its new
// text; held text whose choice ends is sent in an event made from that choice's last one. Bytes
// of an event not yet complete wait for its end (a client cannot use half an event either), up
// to CARRY_MAX; a bigger event passes as it streams and a match in it ends the answer (block).
import type { CompiledPolicy } from './compile.js';
import type { HoldSpec } from './hold-rules.js';
import { HoldStream } from './hold-stream.js';
import { formatEvent, parseEvent, redactAll, setChoiceText } from './sse-event.js';
import type { Hit } from './types.js';

export const CARRY_MAX = 64 * 1024;
/** events after which no more text of any choice can come: held text is sent before them */
const LAST_EVENTS = new Set(['message_delta', 'message_stop', 'response.completed', 'response.incomplete', 'response.failed', 'error']);

interface Choice {
  key: number;
  hold: HoldStream;
  /** this event: the text read for the choice, what may go out, whether the event had text for it */
  inText: string;
  outText: string;
  /** the last event that carried this choice's text (name, data), kept while text is held */
  template: { name: string; data: string } | null;
  ended: boolean;
}

export class SseHold {
  private readonly choices: Choice[] = [];
  /** choices whose text changed in the current event */
  private touched: Choice[] = [];
  /** events to send before the current one (held text of choices that ended) */
  private before: Buffer[] | null = null;
  private carry: Buffer[] = [];
  private carryLen = 0;
  /** the current event grew past CARRY_MAX: it passes as it streams */
  private unheld = false;
  private chunk: Buffer = EMPTY;
  private passFrom = 0;
  private evStart = 0;
  private out: Buffer[] | null = null;
  /** a match was replaced: whole-text events (Responses `.done`) are redacted too */
  private redacted = false;
  /** a refused event needs a rewrite it cannot get: the answer must end (the first such rule) */
  blockedBy: string | null = null;
  hits: Hit[] = [];

  constructor(private readonly spec: HoldSpec, private readonly policy: CompiledPolicy, private readonly excerptBytes: number) {}

  bytes(): number {
    let n = 96 + this.carryLen;
    for (const c of this.choices) n += 48 + c.hold.bytes() + (c.template ? c.template.data.length * 2 : 0) + (c.inText.length + c.outText.length) * 2;
    return n;
  }

  /** A chunk begins. */
  begin(chunk: Buffer): void {
    this.chunk = chunk;
    this.passFrom = 0;
    this.evStart = 0;
    this.out = null;
  }

  /** Text of choice `key` in the current event (final: that choice's text ended); returns what goes out of it. */
  text(key: number, t: string, final: boolean): string {
    const c = this.choice(key);
    const r = c.hold.push(t, final, this.unheld, this.hits);
    c.inText += t;
    c.outText += r;
    if (final) c.ended = true;
    if (c.hold.redactions > 0) this.redacted = true;
    if ((r !== t || final) && !this.touched.includes(c)) this.touched.push(c);
    return r;
  }

  /**
   * The current event ended at chunk[end]. `type`: its JSON `type`; `last`: no choice's text can
   * follow it ([DONE], message_stop, response.completed...).
   */
  eventEnd(end: number, type: string, last: boolean): void {
    if (last || LAST_EVENTS.has(type)) for (const c of this.choices) this.text(c.key, '', true);
    const raw = this.touched.length > 0 || (this.redacted && type.startsWith('response.') && !type.endsWith('.delta')) ? this.rawEvent(end) : null;
    let replace: Buffer | null = null;
    if (raw !== null) {
      const { name, data } = parseEvent(raw);
      let ev: Record<string, unknown> | null = null;
      try { ev = JSON.parse(data) as Record<string, unknown>; } catch { /* not JSON: no text of ours */ }
      let changed = false;
      for (const c of this.touched) {
        const had = c.inText.length > 0 && ev !== null && setChoiceText(ev, c.key, c.outText);
        if (had) changed = true;
        else if (c.outText.length > 0) this.synthesize(c);
        // while it holds text, the choice keeps an event of its own to carry it later
        if (c.hold.holding && ev !== null && c.inText.length > 0) c.template = { name, data };
        else if (!c.hold.holding) c.template = null;
      }
      if (ev !== null && this.redacted && type.startsWith('response.') && !type.endsWith('.delta') && redactAll(ev, this.spec)) changed = true;
      if (changed) {
        if (this.unheld) this.blockedBy ??= this.hits.find((h) => h.action !== 'flag')?.rule ?? 'stream.unholdable';
        else replace = formatEvent(name, JSON.stringify(ev));
      }
    }
    this.touched = [];
    let w = 0;
    for (const c of this.choices) {
      c.inText = '';
      c.outText = '';
      // a choice whose text ended and holds nothing is forgotten (Responses streams many parts)
      if (!c.ended || c.hold.holding) this.choices[w++] = c;
    }
    this.choices.length = w;
    // pending now: chunk[passFrom, evStart) (events that passed), then this event: carry + chunk[evStart, end)
    if (this.before !== null) {
      this.emit(this.chunk.subarray(this.passFrom, this.evStart));
      this.passFrom = this.evStart;
      for (const b of this.before) this.emit(b);
      this.before = null;
    }
    if (replace !== null) {
      this.emit(this.chunk.subarray(this.passFrom, this.evStart));
      this.dropCarry();
      this.emit(replace);
      this.passFrom = end;
    } else if (this.carry.length > 0) {
      // the event began in an earlier chunk: its first bytes go first
      this.emit(this.chunk.subarray(this.passFrom, this.evStart));
      this.passFrom = this.evStart;
      for (const b of this.carry) this.emit(b);
      this.dropCarry();
    }
    this.evStart = end;
    this.unheld = false;
  }

  /**
   * The chunk is done: what goes out now (the chunk itself when every event in it passed), or
   * null. `atBoundary`: the chunk ended between events.
   */
  finish(atBoundary: boolean): Buffer | null {
    const chunk = this.chunk;
    let result: Buffer | null;
    if (this.out === null && this.carry.length === 0 && this.passFrom === 0 && atBoundary) {
      result = chunk;
    } else {
      if (atBoundary) {
        for (const b of this.carry) this.emit(b);
        this.dropCarry();
        this.emit(chunk.subarray(this.passFrom));
      } else {
        this.emit(chunk.subarray(this.passFrom, this.evStart));
        const rest = chunk.subarray(this.evStart);
        if (this.unheld || this.carryLen + rest.length > CARRY_MAX) {
          // too big to hold: the event goes as it comes, and its text cannot be rewritten
          this.unheld = true;
          for (const b of this.carry) this.emit(b);
          this.dropCarry();
          this.emit(rest);
        } else if (rest.length > 0) {
          this.carry.push(Buffer.from(rest));
          this.carryLen += rest.length;
        }
      }
      result = this.out === null ? null : this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
    }
    this.chunk = EMPTY;
    this.out = null;
    return result !== null && result.length === 0 ? null : result;
  }

  /** The stream ended: held text goes out (in events made from each choice's last one). */
  end(): Buffer | null {
    for (const c of this.choices) this.text(c.key, '', true);
    for (const c of this.touched) { if (c.outText.length > 0) this.synthesize(c); c.inText = c.outText = ''; }
    this.touched = [];
    this.choices.length = 0;
    const parts = [...(this.before ?? []), ...this.carry];
    this.before = null;
    this.carry = [];
    this.carryLen = 0;
    return parts.length === 0 ? null : Buffer.concat(parts);
  }

  private choice(key: number): Choice {
    for (const c of this.choices) if (c.key === key) return c;
    const c: Choice = { key, hold: new HoldStream(this.spec, this.policy, this.excerptBytes), inText: '', outText: '', template: null, ended: false };
    this.choices.push(c);
    return c;
  }

  /** An event of the choice's own shape carrying `outText`, sent before the current event. */
  private synthesize(c: Choice): void {
    const t = c.template;
    if (t === null) return;
    try {
      const ev = JSON.parse(t.data) as Record<string, unknown>;
      if (setChoiceText(ev, c.key, c.outText, true)) (this.before ??= []).push(formatEvent(t.name, JSON.stringify(ev)));
    } catch { /* the template was JSON when kept */ }
    c.template = null;
  }

  private dropCarry(): void {
    this.carry = [];
    this.carryLen = 0;
  }

  private emit(b: Buffer): void {
    if (b.length > 0) (this.out ??= []).push(b);
  }

  private rawEvent(end: number): Buffer {
    const own = this.chunk.subarray(this.evStart, end);
    return this.carry.length === 0 ? own : Buffer.concat([...this.carry, own]);
  }
}

const EMPTY = Buffer.alloc(0);
