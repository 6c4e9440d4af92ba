// Taking one batch out of the write queue: up to batchRows records, highest value first, turned
// into the rows of one transaction (WireBatch). Capture chunks of one body become one row.
import type { CaptureWriter } from './capture.js';
import { KILL_RANK, RANKS, type ChunkRecord, type QueueRecord, type WriteQueue } from './queue.js';
import type { CaptureRowWire, WireBatch } from './sql.js';

const CAPTURE_ROW_MAX = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/** A batch on its way to disk: the records taken out of the queue, and what they become. */
export interface Taken {
  records: QueueRecord[][];
  wire: WireBatch;
  /** capture writers and their row seq before this batch, to rewind if it fails */
  rewind: Map<CaptureWriter, { seq: number; gap: boolean }>;
}

/** Takes up to batchRows records out of the queue; the caller writes them or restores them. */
export function takeBatch(queue: WriteQueue, batchRows: number): Taken {
  const counts = RANKS.map(() => 0);
  let room = batchRows;
  // Highest value first, so that under a backlog kills and critical events land before captures.
  for (let rank = KILL_RANK; rank >= 0 && room > 0; rank--) {
    counts[rank] = Math.min(queue.buckets[rank].length, room);
    room -= counts[rank];
  }
  const records = queue.take(counts);
  const wire: WireBatch = { kills: [], sessions: [], events: [], captures: [] };
  for (let rank = KILL_RANK; rank > 0; rank--) {
    for (const r of records[rank]) {
      if (r.t === 'kill') wire.kills.push(r);
      else if (r.t === 'session') wire.sessions.push(r);
      else if (r.t === 'event') wire.events.push(r);
    }
  }
  const rewind = new Map<CaptureWriter, { seq: number; gap: boolean }>();
  if (records[0].length > 0) mergeChunks(records[0] as ChunkRecord[], wire.captures, rewind);
  return { records, wire, rewind };
}

/** Chunks of one body that arrived within this flush window become one row (up to 1MiB). */
function mergeChunks(chunks: ChunkRecord[], out: CaptureRowWire[], rewind: Map<CaptureWriter, { seq: number; gap: boolean }>): void {
  const open = new Map<CaptureWriter, { row: CaptureRowWire; bufs: Buffer[]; size: number }>();
  const done = (o: { row: CaptureRowWire; bufs: Buffer[]; size: number }) => {
    o.row.bytes = o.bufs.length === 1 ? o.bufs[0] : Buffer.concat(o.bufs, o.size);
  };
  for (const r of chunks) {
    const w = r.owner as CaptureWriter;
    let o = open.get(w);
    if (o && r.bytes && o.size + r.bytes.length > CAPTURE_ROW_MAX) {
      done(o);
      open.delete(w);
      o = undefined;
    }
    if (!o) {
      if (!rewind.has(w)) rewind.set(w, { seq: w.rowSeq, gap: w.gap });
      o = {
        row: { session_id: w.sessionId, request_seq: w.requestSeq, direction: w.direction, chunk_seq: w.rowSeq++, gap: w.gap ? 1 : 0, fin: 0, at: r.at, bytes: EMPTY },
        bufs: [], size: 0,
      };
      w.gap = false;
      open.set(w, o);
      out.push(o.row);
    }
    if (r.bytes) {
      o.bufs.push(r.bytes);
      o.size += r.bytes.length;
    }
    if (r.fin) o.row.fin = 1;
  }
  for (const o of open.values()) done(o);
}
