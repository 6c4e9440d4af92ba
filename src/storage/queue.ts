// The bounded write queue between the hot path and SQLite. Records wait in one FIFO per value
// rank; when the queue is full (rows or bytes), the oldest record of the lowest rank below the
// newcomer's is evicted, or the newcomer itself is dropped when nothing cheaper is queued. Kills
// are never dropped: they may push the queue past its bound, and they are rare.
import type { Direction, SessionSummary, Severity } from '../events.js';

/** Value ranks, lowest first; the order in which records are given up under pressure. */
export const RANKS = ['capture', 'event_low', 'event_medium', 'session', 'event_high', 'event_critical', 'kill'] as const;
export type RankName = (typeof RANKS)[number];
export const KILL_RANK = RANKS.length - 1;

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 1, medium: 2, high: 4, critical: 5 };

export interface EventRecord {
  t: 'event';
  id: string;
  kind: 'policy' | 'session';
  session_id: string;
  rule: string;
  severity: string;
  action: string;
  direction: Direction | null;
  excerpt: string;
  at: number;
  /** JSON of score, labels, judge, judge_ms when the event has them */
  detail?: string | null;
}

export interface SessionRecord extends SessionSummary {
  t: 'session';
  ended_at: number;
}

export interface KillRecord {
  t: 'kill';
  id: string;
  state: 'killed' | 'terminated' | null;
  at: number;
}

/** One chunk of a streamed body; `owner` is the capture it belongs to (see capture.ts). */
export interface ChunkRecord {
  t: 'chunk';
  owner: CaptureOwner;
  bytes: Buffer | null;
  fin: boolean;
  at: number;
}

/** What the queue needs from a capture: a flag set when one of its chunks is dropped. */
export interface CaptureOwner {
  gap: boolean;
}

export type QueueRecord = EventRecord | SessionRecord | KillRecord | ChunkRecord;

/** Approximate heap bytes of a queued record: object header and fields, plus its strings. */
export function recordBytes(r: QueueRecord): number {
  switch (r.t) {
    case 'event': return 120 + 2 * (r.id.length + r.session_id.length + r.rule.length + r.excerpt.length + (r.detail?.length ?? 0));
    case 'session': return 200 + 2 * (r.id.length + (r.upstream?.length ?? 0) + (r.client_ip?.length ?? 0) + (r.agent?.length ?? 0) + (r.team?.length ?? 0));
    case 'kill': return 64 + 2 * r.id.length;
    case 'chunk': return 64 + (r.bytes ? r.bytes.length + 96 : 0);
  }
}

/** An array-backed FIFO with a moving head, compacted now and then: O(1) push and shift. */
export class Fifo<T> {
  items: (T | undefined)[] = [];
  head = 0;
  get length(): number { return this.items.length - this.head; }
  push(v: T): void { this.items.push(v); }
  peekAt(i: number): T { return this.items[this.head + i] as T; }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    this.compact();
    return v;
  }
  /** Removes and returns the first n items. */
  takeFront(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n) as T[];
    this.advance(n);
    return out;
  }
  /** Puts items back in front (a batch that could not be written). */
  prepend(front: T[]): void {
    this.items = (front as (T | undefined)[]).concat(this.items.slice(this.head));
    this.head = 0;
  }
  /** Removes the first n items (after they were written). */
  advance(n: number): void {
    for (let i = 0; i < n; i++) this.items[this.head + i] = undefined;
    this.head += n;
    this.compact();
  }
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export class WriteQueue {
  readonly buckets: Fifo<QueueRecord>[] = RANKS.map(() => new Fifo<QueueRecord>());
  readonly dropped: Record<RankName, number> = Object.fromEntries(RANKS.map((r) => [r, 0])) as Record<RankName, number>;
  depth = 0;
  bytes = 0;

  constructor(readonly maxRows: number, readonly maxBytes: number) {}

  /** Queues a record, evicting cheaper ones if full. Returns false when the record itself was dropped. */
  push(rank: number, r: QueueRecord): boolean {
    const size = recordBytes(r);
    while (this.depth + 1 > this.maxRows || this.bytes + size > this.maxBytes) {
      if (rank === KILL_RANK) break;
      const victim = this.lowestBelow(rank);
      if (victim < 0) {
        this.countDrop(rank, r);
        return false;
      }
      const old = this.buckets[victim].shift() as QueueRecord;
      this.depth--;
      this.bytes -= recordBytes(old);
      this.countDrop(victim, old);
    }
    this.buckets[rank].push(r);
    this.depth++;
    this.bytes += size;
    return true;
  }

  /** Takes the first `counts[rank]` records of each bucket out of the queue: a batch leaving for the disk. */
  take(counts: readonly number[]): QueueRecord[][] {
    const out: QueueRecord[][] = [];
    for (let rank = 0; rank < this.buckets.length; rank++) {
      const n = counts[rank] ?? 0;
      const items = n > 0 ? this.buckets[rank].takeFront(n) : [];
      for (const r of items) this.bytes -= recordBytes(r);
      this.depth -= items.length;
      out.push(items);
    }
    return out;
  }

  /**
   * A taken batch failed: its records go back in front, in order. What arrived meanwhile may now
   * exceed the bound; the cheapest records are then dropped as on push (never kills).
   */
  restore(taken: QueueRecord[][]): void {
    for (let rank = 0; rank < taken.length; rank++) {
      const items = taken[rank];
      if (items.length === 0) continue;
      this.buckets[rank].prepend(items);
      this.depth += items.length;
      for (const r of items) this.bytes += recordBytes(r);
    }
    while (this.depth > this.maxRows || this.bytes > this.maxBytes) {
      const victim = this.lowestBelow(KILL_RANK);
      if (victim < 0) break;
      const old = this.buckets[victim].shift() as QueueRecord;
      this.depth--;
      this.bytes -= recordBytes(old);
      this.countDrop(victim, old);
    }
  }

  /** Drops every record of one rank (memory pressure sheds captures); returns how many. */
  shedRank(rank: number): number {
    const items = this.take(this.buckets.map((b, i) => (i === rank ? b.length : 0)))[rank];
    for (const r of items) this.countDrop(rank, r);
    return items.length;
  }

  private lowestBelow(rank: number): number {
    for (let i = 0; i < rank; i++) if (this.buckets[i].length > 0) return i;
    return -1;
  }

  private countDrop(rank: number, r: QueueRecord): void {
    this.dropped[RANKS[rank]]++;
    if (r.t === 'chunk') r.owner.gap = true;
  }
}
