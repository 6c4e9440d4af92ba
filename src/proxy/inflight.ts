// In-flight exchanges by session slot, so that a kill or a terminate can end every request and
// stream of a session at once. An intrusive doubly-linked list per slot: adding and removing
// allocate nothing, and only sessions with work in flight have an entry in the head map.

export interface InflightNode {
  slot: number;
  prevInSlot: InflightNode | null;
  nextInSlot: InflightNode | null;
  /** ends the exchange now, from the outside (kill, terminate, shutdown) */
  endBySession(type: 'session_killed' | 'session_terminated' | 'agent_killed'): void;
  /** ends the exchange now because the drain timed out */
  endByShutdown(): void;
}

export class Inflight {
  private readonly heads = new Map<number, InflightNode>();
  count = 0;

  add(node: InflightNode): void {
    const head = this.heads.get(node.slot);
    node.prevInSlot = null;
    node.nextInSlot = head ?? null;
    if (head) head.prevInSlot = node;
    this.heads.set(node.slot, node);
    this.count++;
  }

  remove(node: InflightNode): void {
    if (node.prevInSlot) node.prevInSlot.nextInSlot = node.nextInSlot;
    else if (this.heads.get(node.slot) === node) {
      if (node.nextInSlot) this.heads.set(node.slot, node.nextInSlot);
      else this.heads.delete(node.slot);
    } else return; // not listed
    if (node.nextInSlot) node.nextInSlot.prevInSlot = node.prevInSlot;
    node.prevInSlot = node.nextInSlot = null;
    this.count--;
  }

  /** Ends every exchange in flight (the drain timed out); returns how many there were. */
  endAll(): number {
    let n = 0;
    for (const slot of [...this.heads.keys()]) {
      let node = this.heads.get(slot);
      while (node) {
        const next = node.nextInSlot;
        node.endByShutdown();
        n++;
        node = next ?? undefined;
      }
    }
    return n;
  }

  /** Ends every exchange of a session; returns how many there were. */
  endSlot(slot: number, type: 'session_killed' | 'session_terminated' | 'agent_killed'): number {
    let node = this.heads.get(slot);
    let n = 0;
    while (node) {
      const next = node.nextInSlot;
      node.endBySession(type);
      n++;
      node = next ?? undefined;
    }
    return n;
  }

  /** Slots with work in flight now (a kill by agent picks its own among them). */
  slots(): IterableIterator<number> {
    return this.heads.keys();
  }
}
