// Stream-to-storage capture (the `forensics` profile). A body is handed over chunk by chunk as it
// streams; each chunk waits in the write queue at the lowest rank and goes to SQLite with the next
// flush, where the chunks of one body that arrived within one flush window become one row. Nothing
// holds a whole body: at most one flush window of chunks, inside the queue's byte bound.
import type { Direction } from '../events.js';
import type { CaptureOwner, ChunkRecord } from './queue.js';

export interface CaptureSink {
  enqueueChunk(r: ChunkRecord): void;
}

export class CaptureWriter implements CaptureOwner {
  /** set when a chunk of this body was dropped under queue pressure; the next stored row says so */
  gap = false;
  /** next row number of this body; assigned at flush time */
  rowSeq = 0;
  private ended = false;

  constructor(
    private readonly sink: CaptureSink,
    readonly sessionId: string,
    readonly direction: Direction,
    /** pairs a request body with its response: pass the request's seq when capturing the response */
    readonly requestSeq: number,
  ) {}

  /**
   * Queues one chunk. The buffer is kept by reference until the next flush, so a caller that
   * reuses its buffers (a pool) must pass a copy.
   */
  write(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    this.sink.enqueueChunk({ t: 'chunk', owner: this, bytes: chunk, fin: false, at: Date.now() });
  }

  /** The body is complete; marks its last row. Further writes are ignored. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.enqueueChunk({ t: 'chunk', owner: this, bytes: null, fin: true, at: Date.now() });
  }

  /** The body was cut off (kill, error): stop without marking it complete. */
  abort(): void {
    this.ended = true;
  }
}
