// Request bodies. The policy reads a body whole, so each one is held in memory from its first byte
// until the upstream answers; a burst of large uploads could hold more than the memory budget. So
// bodies are admitted against a byte budget: an upload reserves its declared length (or max_body
// when chunked) before any byte is read, and one that does not fit waits, not read, in arrival order
// (its kernel receive window then holds the sender) until earlier ones are forwarded and release
// theirs. One upload is always admitted, so a single body up to max_body always passes, and small
// bodies (SMALL_BODY) never wait, so slow large uploads cannot hold ordinary requests back.
// Under critical memory pressure the gateway also stops reading the admitted ones, and resumes when
// pressure falls. Waiting and paused requests are bounded by `timeouts.body` (node answers 408); at
// warning an upload that waited 3s is reset like a stalled one (503 overloaded, memory/overload.ts).

export interface Pausable {
  pause(): unknown;
  resume(): unknown;
  /** told when it starts and stops waiting for room (the exchange's stall clock, memory/overload.ts) */
  queued?(on: boolean): void;
}

/** Reservations up to this size are always admitted at once (a chat request is a few KB). */
export const SMALL_BODY = 256 * 1024;

/** The share of the memory budget that request bodies may reserve together (at least max_body). */
export const UPLOAD_SHARE = 0.25;

/** The byte budget of bodies held at once for a memory limit and max_body. */
export function uploadBudgetFor(memoryLimit: number, maxBody: number): number {
  return Math.max(maxBody, Math.floor(memoryLimit * UPLOAD_SHARE));
}

export class Uploads {
  /** admitted bodies still being read: paused at critical */
  private readonly open = new Set<Pausable>();
  /** every reservation, reading or held until forwarded */
  private readonly reserved = new Map<Pausable, number>();
  private readonly waiting: Array<{ req: Pausable; bytes: number }> = [];
  private paused = false;
  private reservedBytes = 0;
  /** uploads that had to wait for room */
  queued = 0;

  constructor(readonly budgetBytes = Infinity) {}

  /** A body starts: reserve `bytes` for it, or hold it unread until there is room. */
  add(req: Pausable, bytes = 0): void {
    if (this.reserved.has(req) || this.waiting.some((w) => w.req === req)) return;
    // An ordinary request never queues behind large (or slowloris) uploads: it is counted, not held.
    if (bytes <= SMALL_BODY || (this.waiting.length === 0 && this.fits(bytes))) return this.admit(req, bytes);
    this.queued++;
    this.waiting.push({ req, bytes });
    req.pause();
    req.queued?.(true);
  }

  /** The body is read (or refused): it is no longer paused at critical; its reservation stays. */
  delete(req: Pausable): void {
    this.open.delete(req);
  }

  /** The body is forwarded or the exchange ended: its bytes are free for the next upload. */
  release(req: Pausable): void {
    this.open.delete(req);
    const b = this.reserved.get(req);
    if (b !== undefined) {
      this.reserved.delete(req);
      this.reservedBytes -= b;
    } else {
      const i = this.waiting.findIndex((w) => w.req === req);
      if (i >= 0) this.waiting.splice(i, 1);
    }
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const w = this.waiting.shift()!;
      w.req.queued?.(false);
      this.admit(w.req, w.bytes);
      if (!this.paused) w.req.resume();
    }
  }

  pauseAll(): void {
    this.paused = true;
    for (const r of this.open) r.pause();
  }

  resumeAll(): void {
    this.paused = false;
    for (const r of this.open) r.resume();
  }

  /** admitted bodies being read */
  get count(): number { return this.open.size; }
  /** bodies waiting for room */
  get waitingCount(): number { return this.waiting.length; }
  /** bytes reserved by admitted bodies */
  get bytes(): number { return this.reservedBytes; }

  private fits(bytes: number): boolean {
    return this.reserved.size === 0 || this.reservedBytes + bytes <= this.budgetBytes;
  }

  private admit(req: Pausable, bytes: number): void {
    this.reserved.set(req, bytes);
    this.reservedBytes += bytes;
    this.open.add(req);
    if (this.paused) req.pause();
  }
}
