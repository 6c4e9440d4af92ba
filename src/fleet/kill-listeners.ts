// The onKill listeners both fleet implementations keep: add with an unsubscribe, and a fan-out
// in which one throwing listener neither stops the others nor reaches the caller.
import type { FleetSessionState, KillListener } from './types.js';

export class KillListeners {
  private readonly list: KillListener[] = [];

  constructor(private readonly onError: (id: string, err: Error) => void) {}

  add(fn: KillListener): () => void {
    this.list.push(fn);
    return () => {
      const i = this.list.indexOf(fn);
      if (i >= 0) this.list.splice(i, 1);
    };
  }

  emit(id: string, state: FleetSessionState): void {
    for (const fn of this.list) {
      try { fn(id, state); } catch (err) { this.onError(id, err as Error); }
    }
  }
}
