// An incremental Server-Sent Events parser: a state machine over bytes, fed chunks exactly as
// the socket gave them. It never buffers an event: the values of `data:` lines stream to the sink
// as byte ranges of the chunk; only short field names are kept. CR, LF and CRLF end lines, and a
// CRLF split across two chunks is one line end.

export interface SseSink {
  /** bytes of a data line's value, chunk[start, end) (one line may arrive in several calls) */
  sseData(chunk: Buffer, start: number, end: number): void;
  /** a second data line in the same event begins: the spec joins data lines with "\n" */
  sseDataNewline(): void;
  /** a blank line ended an event that had data */
  sseEventEnd(): void;
}

const enum S { LineStart, Field, ValueStart, Data, Skip }
const MAX_FIELD = 16;

export class SseDecoder {
  private state: S = S.LineStart;
  private field = '';
  private afterCR = false;
  /** this event has had a data line already */
  private hasData = false;
  /** a field or comment line began since the last blank line */
  private inEvent = false;
  /** during sseEventEnd: the offset in the chunk just after the blank line that ended the event */
  eventEndAt = 0;

  constructor(private readonly sink: SseSink) {}

  write(chunk: Buffer): void {
    const sink = this.sink;
    let i = 0;
    const n = chunk.length;
    if (this.afterCR && n > 0) {
      this.afterCR = false;
      if (chunk[0] === 10) i = 1;
    }
    while (i < n) {
      switch (this.state) {
        case S.LineStart: {
          const c = chunk[i];
          if (c === 10 || c === 13) {
            // blank line: dispatch
            const next = this.lineEnd(chunk, i);
            this.eventEndAt = next;
            if (this.hasData) sink.sseEventEnd();
            this.hasData = false;
            this.inEvent = false;
            i = next;
            continue;
          }
          this.inEvent = true;
          if (c === 58) { // ':' comment
            this.state = S.Skip;
            i++;
            continue;
          }
          this.field = '';
          this.state = S.Field;
          continue;
        }
        case S.Field: {
          const c = chunk[i];
          if (c === 58) {
            this.state = S.ValueStart;
            i++;
            continue;
          }
          if (c === 10 || c === 13) {
            // a field with no colon has an empty value
            if (this.field === 'data') this.startData();
            this.state = S.LineStart;
            i = this.lineEnd(chunk, i);
            continue;
          }
          if (this.field.length < MAX_FIELD) this.field += String.fromCharCode(c);
          i++;
          continue;
        }
        case S.ValueStart: {
          if (chunk[i] === 32) i++;
          if (this.field === 'data') {
            this.startData();
            this.state = S.Data;
          } else {
            this.state = S.Skip;
          }
          continue;
        }
        case S.Data:
        case S.Skip: {
          // the rest of a line: a data line's bytes go to the sink, any other field's are skipped
          let j = i;
          while (j < n && chunk[j] !== 10 && chunk[j] !== 13) j++;
          if (j > i && this.state === S.Data) sink.sseData(chunk, i, j);
          if (j < n) {
            this.state = S.LineStart;
            i = this.lineEnd(chunk, j);
          } else {
            i = j;
          }
          continue;
        }
      }
    }
  }

  /** The chunk so far ended between events (no line of the next one begun). */
  atBoundary(): boolean {
    return this.state === S.LineStart && !this.inEvent;
  }

  /** The stream ended: an event without its blank line is dropped by the spec, but we still scan it. */
  end(): void {
    if (this.hasData) this.sink.sseEventEnd();
    this.hasData = false;
    this.state = S.LineStart;
  }

  private startData(): void {
    if (this.hasData) this.sink.sseDataNewline();
    this.hasData = true;
  }

  /** Consumes one line terminator at chunk[i]; remembers a CR at the chunk's end. */
  private lineEnd(chunk: Buffer, i: number): number {
    if (chunk[i] === 13) {
      if (i + 1 < chunk.length) return chunk[i + 1] === 10 ? i + 2 : i + 1;
      this.afterCR = true;
      return i + 1;
    }
    return i + 1;
  }
}
