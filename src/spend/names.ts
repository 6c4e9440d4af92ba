// Agent and model names as small numbers, so a session slot holds a u16 instead of a string.
// Bounded: past `max` names, new ones share the last number, shown as `other` (a client choosing
// its model names cannot grow the table or the /metrics label set).

export const OTHER = 'other';

export class NameIndex {
  private readonly names: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** The name's number, from 1 (0 is "none"); the `other` number once the table is full. */
  number(name: string): number {
    const n = this.index.get(name);
    if (n !== undefined) return n;
    if (this.names.length >= this.max - 1) return this.otherNumber();
    this.names.push(name);
    this.index.set(name, this.names.length);
    return this.names.length;
  }

  /** The number of a name already known, or 0. */
  find(name: string): number {
    return this.index.get(name) ?? 0;
  }

  name(n: number): string | null {
    return n === 0 ? null : (this.names[n - 1] ?? null);
  }

  get size(): number {
    return this.names.length;
  }

  private otherNumber(): number {
    const n = this.index.get(OTHER);
    if (n !== undefined) return n;
    this.names.push(OTHER);
    this.index.set(OTHER, this.names.length);
    return this.names.length;
  }
}
