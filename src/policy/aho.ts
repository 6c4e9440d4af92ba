// A hand-written Aho-Corasick automaton over a flat Int32Array transition table (a full DFA:
// failure links are folded in at build time, so scanning is one table load per character).
// The alphabet is compressed: every ASCII character that occurs in some atom gets a class,
// ASCII letters fold to lower case, and everything else (other ASCII, all non-ASCII UTF-16
// units) shares class 0, which no atom contains. Memory is states x classes x 4 bytes.

export class AhoCorasick {
  /** ASCII code → class (0 = not in any atom) */
  readonly classOf: Uint8Array;
  readonly classes: number;
  /** delta[state * classes + class] → next state */
  readonly delta: Int32Array;
  /** outputs of state s are outList[outStart[s] .. outStart[s + 1]) (atom ids, suffix outputs merged) */
  readonly outStart: Int32Array;
  readonly outList: Int32Array;
  readonly atomLen: Int32Array;
  readonly states: number;
  /** by state id: characters of an atom matched so far (the text's end may begin an atom) */
  readonly depth: Int32Array;

  constructor(atoms: readonly string[]) {
    const classOf = new Uint8Array(128);
    let classes = 1;
    for (const a of atoms) {
      for (let i = 0; i < a.length; i++) {
        let c = a.charCodeAt(i);
        if (c >= 128) throw new Error('atoms must be ASCII');
        if (c >= 65 && c <= 90) c += 32;
        if (classOf[c] === 0) classOf[c] = classes++;
      }
    }
    for (let c = 65; c <= 90; c++) classOf[c] = classOf[c + 32];
    if (classes > 255) throw new Error('too many character classes');
    this.classOf = classOf;
    this.classes = classes;

    // Trie with growable arrays, then BFS for failure links into the dense table.
    let cap = 64;
    let trie = new Int32Array(cap * classes).fill(-1);
    let count = 1;
    const outs: number[][] = [[]];
    const depths: number[] = [0];
    this.atomLen = new Int32Array(atoms.length);
    atoms.forEach((a, id) => {
      this.atomLen[id] = a.length;
      let s = 0;
      for (let i = 0; i < a.length; i++) {
        const k = classOf[a.charCodeAt(i)];
        let nx = trie[s * classes + k];
        if (nx < 0) {
          if (count === cap) {
            cap *= 2;
            const grown = new Int32Array(cap * classes).fill(-1);
            grown.set(trie);
            trie = grown;
          }
          nx = count++;
          outs.push([]);
          depths.push(i + 1);
          trie[s * classes + k] = nx;
        }
        s = nx;
      }
      outs[s].push(id);
    });

    const delta = new Int32Array(count * classes);
    const fail = new Int32Array(count);
    const queue = new Int32Array(count);
    let head = 0;
    let tail = 0;
    for (let k = 0; k < classes; k++) {
      const nx = trie[k];
      if (nx > 0 && k !== 0) {
        delta[k] = nx;
        fail[nx] = 0;
        queue[tail++] = nx;
      } else {
        delta[k] = 0;
      }
    }
    while (head < tail) {
      const s = queue[head++];
      const f = fail[s];
      if (outs[f].length > 0) outs[s] = outs[s].concat(outs[f]);
      for (let k = 0; k < classes; k++) {
        const nx = k === 0 ? -1 : trie[s * classes + k];
        if (nx > 0) {
          delta[s * classes + k] = nx;
          fail[nx] = delta[f * classes + k];
          queue[tail++] = nx;
        } else {
          delta[s * classes + k] = delta[f * classes + k];
        }
      }
    }
    // Premultiply targets by the class count (one add per character, no multiply) and mark
    // targets that have outputs by negating them (one sign test per character, no table load).
    for (let i = 0; i < delta.length; i++) {
      const t = delta[i];
      delta[i] = outs[t].length > 0 ? -t * classes : t * classes;
    }
    this.delta = delta;
    this.states = count;
    this.depth = Int32Array.from(depths);
    const outStart = new Int32Array(count + 1);
    let total = 0;
    for (let s = 0; s < count; s++) {
      outStart[s] = total;
      total += outs[s].length;
    }
    outStart[count] = total;
    const outList = new Int32Array(total);
    for (let s = 0; s < count; s++) outList.set(outs[s], outStart[s]);
    this.outStart = outStart;
    this.outList = outList;
  }

  /** Characters at the end of the text scanned into `state` that may still begin an atom. */
  depthOf(state: number): number {
    return this.depth[state / this.classes];
  }

  /** Bytes of the compiled tables (shared by every stream). */
  bytes(): number {
    return this.delta.byteLength + this.outStart.byteLength + this.outList.byteLength + 128;
  }

  /**
   * Runs the automaton over text[from, to) starting in `state` (0 at the start of a stream; the
   * value is opaque: a premultiplied table offset); calls sink.onAtom(atomId, endIndex) for each
   * atom ending at endIndex (exclusive). Returns the state to resume from. The sink is an object,
   * not a closure, so nothing is allocated per call.
   */
  scan(text: string, from: number, to: number, state: number, sink: AtomSink): number {
    const delta = this.delta;
    const classOf = this.classOf;
    let s = state;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      s = delta[s + (c < 128 ? classOf[c] : 0)];
      if (s < 0) {
        s = -s;
        this.emit(s, i + 1, sink);
      }
    }
    return s;
  }

  private emit(s: number, end: number, sink: AtomSink): void {
    const id = s / this.classes;
    const e = this.outStart[id + 1];
    for (let j = this.outStart[id]; j < e; j++) sink.onAtom(this.outList[j], end);
  }
}

export interface AtomSink {
  onAtom(atom: number, end: number): void;
}
