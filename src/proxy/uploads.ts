// Request bodies being received right now. Under critical memory pressure the gateway stops
// reading them (the kernel's receive window then slows the senders), and resumes when pressure
// falls: the slow uploads a slowloris holds open cannot keep growing their buffers meanwhile.
// Requests still waiting are bounded by `timeouts.body` (node's requestTimeout answers 408).

export interface Pausable { pause(): unknown; resume(): unknown }

export class Uploads {
  private readonly open = new Set<Pausable>();
  private paused = false;

  add(req: Pausable): void {
    this.open.add(req);
    if (this.paused) req.pause();
  }

  delete(req: Pausable): void {
    this.open.delete(req);
  }

  pauseAll(): void {
    this.paused = true;
    for (const r of this.open) r.pause();
  }

  resumeAll(): void {
    this.paused = false;
    for (const r of this.open) r.resume();
  }

  get count(): number {
    return this.open.size;
  }
}
