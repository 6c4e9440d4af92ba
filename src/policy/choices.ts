// Per-choice scanner contexts for one streamed response: each choice (OpenAI `choices[i]`,
// Anthropic content block, Responses output part) is scanned as its own text, so two interleaved
// choices cannot hide a match that neither carries whole. At most MAX_CHOICES are open at once (a
// choice whose text ended frees its place); one more is refused with a block hit, and its text,
// and any later one's, is scanned in one shared overflow context (what an audit-mode stream gets).
import type { Direction } from '../events.js';
import type { CompiledPolicy } from './compile.js';
import { ScanContext } from './scanner.js';
import type { Hit } from './types.js';

export const MAX_CHOICES = 8;
export const TOO_MANY_CHOICES = 'stream.too_many_choices';

export class ChoiceTable {
  private readonly keys = new Int32Array(MAX_CHOICES).fill(-1);
  private readonly text: Array<ScanContext | null> = new Array<ScanContext | null>(MAX_CHOICES + 1).fill(null);
  private readonly tool: Array<ScanContext | null> = new Array<ScanContext | null>(MAX_CHOICES + 1).fill(null);
  private overflowed = false;
  /** characters of the contexts already ended, for token estimates */
  private endedChars = 0;

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly textChan: number,
    private readonly toolChan: number,
    private readonly direction: Direction,
    private readonly excerptBytes: number,
    /** rules the text contexts leave to the hold-back (sse-hold.ts) */
    private readonly skip: Uint8Array | null = null,
  ) {}

  /** Scans `t` as the next piece of choice `key`'s text (or tool arguments); hits go to `out`. */
  write(key: number, t: string, tool: boolean, out: Hit[] | null): Hit[] | null {
    const i = this.place(key);
    if (i < 0 && !this.overflowed) out = add(out, [this.overflowHit()]);
    const at = i < 0 ? MAX_CHOICES : i;
    const list = tool ? this.tool : this.text;
    const ctx = list[at] ?? (list[at] = new ScanContext(this.policy, tool ? this.toolChan : this.textChan, this.direction, this.excerptBytes, tool ? null : this.skip));
    return add(out, streamed(ctx.write(t, true)));
  }

  /** Choice `key`'s text is over: confirm what waits and free its place. */
  final(key: number, out: Hit[] | null): Hit[] | null {
    const i = this.keys.indexOf(key);
    if (i < 0) return out;
    out = this.endAt(i, out);
    this.keys[i] = -1;
    return out;
  }

  end(out: Hit[] | null): Hit[] | null {
    for (let i = 0; i <= MAX_CHOICES; i++) out = this.endAt(i, out);
    this.keys.fill(-1);
    return out;
  }

  get chars(): number {
    let n = this.endedChars;
    for (let i = 0; i <= MAX_CHOICES; i++) n += (this.text[i]?.chars ?? 0) + (this.tool[i]?.chars ?? 0);
    return n;
  }

  bytes(): number {
    let n = 48 + MAX_CHOICES * 4 + (MAX_CHOICES + 1) * 16;
    for (let i = 0; i <= MAX_CHOICES; i++) n += (this.text[i]?.bytes() ?? 0) + (this.tool[i]?.bytes() ?? 0);
    return n;
  }

  private place(key: number): number {
    const keys = this.keys;
    const i = keys.indexOf(key);
    if (i >= 0) return i;
    const free = keys.indexOf(-1);
    if (free >= 0) keys[free] = key;
    return free;
  }

  private endAt(i: number, out: Hit[] | null): Hit[] | null {
    for (const list of [this.text, this.tool]) {
      const c = list[i];
      if (c === null) continue;
      out = add(out, streamed(c.end()));
      this.endedChars += c.chars;
      list[i] = null;
    }
    return out;
  }

  private overflowHit(): Hit {
    this.overflowed = true;
    return {
      rule: TOO_MANY_CHOICES, severity: 'high', action: 'block', direction: this.direction,
      excerpt: `more than ${MAX_CHOICES} choices in one stream; each is scanned on its own up to ${MAX_CHOICES}`,
    };
  }
}

/** A redaction a scanner finds cannot be made in a stream (only the hold-back rewrites): it refuses. */
function streamed(hits: Hit[] | null): Hit[] | null {
  if (hits !== null) for (const h of hits) if (h.action === 'redact') h.action = 'block';
  return hits;
}

function add(out: Hit[] | null, hits: Hit[] | null): Hit[] | null {
  if (hits === null) return out;
  if (out === null) return hits;
  for (const h of hits) out.push(h);
  return out;
}
