// Language rules (every rule but secrets and PII, which match the raw text) also read the
// normalized view, so a configured rule catches "1gn0re" or "іgnore" (Cyrillic і) as it catches
// "ignore". Only text that normalization changed is scanned again; plain ASCII costs one check.
import type { CompiledPolicy } from '../compile.js';
import { REQ_TEXT } from '../channels.js';
import { excerpt, ScanContext } from '../scanner.js';
import type { Hit } from '../types.js';
import { normalize, type NormalizedText } from './normalize.js';

/** Longer texts are left to the raw scan: normalizing them whole would need scratch memory in proportion. */
export const MAX_VIEW = 64 * 1024;

export class NormalizedView {
  private ctx: ScanContext | null = null;
  private hits: Array<{ hit: Hit; raw: string; norm: NormalizedText }> | null = null;

  constructor(private readonly policy: CompiledPolicy, private readonly excerptBytes: number, private readonly rawOnly: Uint8Array) {}

  /** `norm`: normalize(raw) when the caller has it */
  text(raw: string, norm0: NormalizedText | null = null): void {
    if (raw.length > MAX_VIEW || (this.policy.mask & REQ_TEXT) === 0) return;
    const norm = norm0 ?? normalize(raw);
    if (norm.map === null) return;
    this.ctx ??= new ScanContext(this.policy, REQ_TEXT, 'request', this.excerptBytes);
    this.keep(this.ctx.write(norm.text), raw, norm);
    this.keep(this.ctx.end(), raw, norm);
    this.ctx.boundary();
  }

  /** Hits of language rules the raw scan did not already report, excerpts from the original text. */
  end(already: Hit[] | null): Hit[] | null {
    if (this.hits === null) return null;
    let out: Hit[] | null = null;
    for (const { hit, raw, norm } of this.hits) {
      if (already?.some((h) => h.rule === hit.rule) || out?.some((h) => h.rule === hit.rule)) continue;
      (out ??= []).push({ ...hit, excerpt: this.relocate(hit.rule, raw, norm) });
    }
    return out;
  }

  private keep(hits: Hit[] | null, raw: string, norm: NormalizedText): void {
    if (!hits) return;
    for (const h of hits) {
      const r = this.policy.rules.find((x) => x.name === h.rule);
      if (!r || this.rawOnly[r.index] === 1) continue;
      (this.hits ??= []).push({ hit: h, raw, norm });
    }
  }

  private relocate(rule: string, raw: string, norm: NormalizedText): string {
    const idx = this.policy.rules.findIndex((r) => r.name === rule);
    for (const p of this.policy.patterns) {
      if (p.rule !== idx) continue;
      p.re.lastIndex = 0;
      const m = p.re.exec(norm.text);
      p.re.lastIndex = 0;
      if (!m || norm.map === null) continue;
      const s = norm.map[m.index];
      const e = norm.map[Math.max(m.index, m.index + m[0].length - 1)] + 1;
      return excerpt(raw, s, Math.max(1, e - s), this.excerptBytes, false);
    }
    return '';
  }
}
