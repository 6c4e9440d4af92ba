// Anomaly scoring of text that arrives in pieces: response text, tool-call arguments and results
// in a stream, WebSocket messages. The text is scored in windows that overlap by a little, so a
// phrase split across two deltas is still seen whole, and signals add up over the whole stream as
// they do over a request. Memory stays bounded: one window of text and the signal table.
import type { Direction } from '../../events.js';
import type { Hit } from '../types.js';
import type { DetectScan, Detector } from './detector.js';

/** characters scored at once; the overlap is carried into the next window */
const WINDOW = 512;
const OVERLAP = 96;

export class StreamDetect {
  private readonly scan: DetectScan;
  private pending = '';
  private tail = '';
  private reported = false;

  constructor(d: Detector, direction: Direction) {
    this.scan = d.open(direction, false);
  }

  /** Feeds text; returns the hit once, when the stream's score first reaches the threshold. */
  write(t: string): Hit | null {
    if (this.reported || t.length === 0) return null;
    this.pending += t;
    return this.pending.length >= WINDOW ? this.run() : null;
  }

  end(): Hit | null {
    if (this.reported || this.pending.length === 0) return null;
    return this.run();
  }

  bytes(): number {
    return 2 * (this.pending.length + this.tail.length) + 64;
  }

  private run(): Hit | null {
    const text = this.tail + this.pending;
    this.pending = '';
    this.tail = text.length > OVERLAP ? text.slice(text.length - OVERLAP) : text;
    this.scan.text(text);
    const r = this.scan.result();
    if (r.hit === null) return null;
    this.reported = true;
    this.pending = this.tail = '';
    return r.hit;
  }
}
