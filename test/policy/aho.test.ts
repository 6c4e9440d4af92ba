import { describe, expect, it } from 'vitest';
import { AhoCorasick, type AtomSink } from '../../src/policy/aho.js';

class Collect implements AtomSink {
  hits: Array<[number, number]> = [];
  onAtom(atom: number, end: number): void { this.hits.push([atom, end]); }
}

function naive(atoms: string[], text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const lower = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  for (let end = 1; end <= text.length; end++) {
    atoms.forEach((a, id) => {
      if (end >= a.length && lower.slice(end - a.length, end) === a) out.push([id, end]);
    });
  }
  return out;
}

const sortHits = (h: Array<[number, number]>) => [...h].sort((a, b) => a[1] - b[1] || a[0] - b[0]);

describe('AhoCorasick', () => {
  it('finds overlapping atoms, folding ASCII case', () => {
    const atoms = ['he', 'she', 'his', 'hers'];
    const ac = new AhoCorasick(atoms);
    const c = new Collect();
    ac.scan('uSHErs', 0, 6, 0, c);
    expect(sortHits(c.hits)).toEqual(sortHits(naive(atoms, 'uSHErs')));
    expect(c.hits.map(([a]) => atoms[a]).sort()).toEqual(['he', 'hers', 'she']);
  });

  it('agrees with a naive search on random text, and state carries across pieces', () => {
    const atoms = ['abc', 'bca', 'cab', 'aa', 'ab-c', 'x_y', 'bb'];
    const ac = new AhoCorasick(atoms);
    const alphabet = 'abcABC-_xyé ';
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let round = 0; round < 200; round++) {
      let text = '';
      for (let i = 0; i < 60; i++) text += alphabet[Math.floor(rnd() * alphabet.length)];
      const whole = new Collect();
      ac.scan(text, 0, text.length, 0, whole);
      expect(sortHits(whole.hits)).toEqual(sortHits(naive(atoms, text)));
      const split = Math.floor(rnd() * text.length);
      const parts = new Collect();
      const s = ac.scan(text, 0, split, 0, parts);
      ac.scan(text, split, text.length, s, parts);
      expect(parts.hits).toEqual(whole.hits);
    }
  });

  it('never matches non-ASCII characters to an atom class', () => {
    const ac = new AhoCorasick(['abc']);
    const c = new Collect();
    ac.scan('ab\u0163c a\u00e2c', 0, 9, 0, c);
    expect(c.hits).toEqual([]);
  });
});
