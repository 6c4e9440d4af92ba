// A second opinion for what the rules find doubtful (SPEC `policy.judge`): the request's new text
// goes to an OpenAI-compatible chat completions endpoint serving a guard model (Llama Guard answers
// "safe", or "unsafe" and a category line such as "S1"). A verdict that does not come within the
// timeout, or does not read as either, follows `on_error`. Verdicts are cached per session by a
// hash of the text, a few entries each, so a resent request is not judged twice.
import type { request as undiciRequest } from 'undici';
import type { JudgeConfig } from '../../config/schema.js';

export type JudgeVerdict = 'safe' | 'unsafe' | 'error';

export interface JudgeAnswer {
  verdict: JudgeVerdict;
  /** the guard model's category line ("S1"), or the reason of an error */
  label: string | null;
  ms: number;
}

/** Verdicts kept per session: hash, verdict and label of the last few judged texts. */
const PER_SESSION = 4;
/** The text sent is cut to this many characters (a guard model reads a prompt, not a book). */
export const JUDGE_TEXT_MAX = 8192;
/** The answer read from the judge is cut to this many bytes: a guard answers in a few tokens. */
const ANSWER_MAX = 64 * 1024;

interface Entry { hash: number; verdict: JudgeVerdict; label: string | null }

export class Judge {
  private readonly endpoint: string;
  private readonly cache = new Map<number, Entry[]>();
  /** undici's index (fetch, caches, WebSocket...) loads only when a judge is configured: idle RSS */
  private readonly undici: Promise<{ request: typeof undiciRequest }> = import('undici');

  /** answers seen, for the event stream and metrics */
  asked = 0;
  errors = 0;

  constructor(readonly cfg: JudgeConfig) {
    this.undici.catch(() => undefined); // a failed load is answered per call (on_error), not thrown
    const u = new URL(cfg.url.toString());
    if (!u.pathname.endsWith('/chat/completions')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/chat/completions`;
    this.endpoint = u.toString();
  }

  /** Whether a request with this detection outcome goes to the judge. */
  wants(doubtful: boolean): boolean {
    return this.cfg.when === 'all' || doubtful;
  }

  async ask(slot: number, text: string): Promise<JudgeAnswer> {
    const t0 = performance.now();
    const hash = textHash(text);
    const seen = this.cache.get(slot)?.find((e) => e.hash === hash);
    if (seen) return { verdict: seen.verdict, label: seen.label, ms: 0 };
    this.asked++;
    const answer = await this.call(text);
    const ms = Math.round(performance.now() - t0);
    if (answer.verdict === 'error') this.errors++;
    else {
      let list = this.cache.get(slot);
      if (!list) this.cache.set(slot, (list = []));
      if (list.length >= PER_SESSION) list.shift();
      list.push({ hash, verdict: answer.verdict, label: answer.label });
    }
    return { ...answer, ms };
  }

  private async call(text: string): Promise<{ verdict: JudgeVerdict; label: string | null }> {
    // Loading undici (first call only) does not count against the judge's timeout.
    let request: typeof undiciRequest;
    try {
      ({ request } = await this.undici);
    } catch {
      return { verdict: 'error', label: 'client_unavailable' };
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.cfg.timeout);
    try {
      const res = await request(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: this.cfg.model, temperature: 0, max_tokens: 16, stream: false,
          messages: [{ role: 'user', content: text.length > JUDGE_TEXT_MAX ? text.slice(0, JUDGE_TEXT_MAX) : text }],
        }),
        signal: ac.signal,
      });
      let body = '';
      for await (const chunk of res.body) {
        body += (chunk as Buffer).toString('utf8');
        if (body.length > ANSWER_MAX) break;
      }
      if (res.statusCode !== 200) return { verdict: 'error', label: `status ${res.statusCode}` };
      return readVerdict(body);
    } catch (err) {
      return { verdict: 'error', label: ac.signal.aborted ? 'timeout' : ((err as NodeJS.ErrnoException).code ?? 'unreachable') };
    } finally {
      clearTimeout(timer);
    }
  }

  release(slot: number): void {
    this.cache.delete(slot);
  }

  /** Bytes of cached verdicts (the ~500 B per session the memory budget allows for). */
  bytes(): number {
    let n = 0;
    for (const list of this.cache.values()) n += 64 + list.length * 48;
    return n;
  }
}

/** Llama Guard's answer: "safe", or "unsafe" then a line of categories. Anything else is an error. */
export function readVerdict(body: string): { verdict: JudgeVerdict; label: string | null } {
  let content: unknown;
  try {
    content = (JSON.parse(body) as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
  } catch {
    return { verdict: 'error', label: 'not JSON' };
  }
  if (typeof content !== 'string') return { verdict: 'error', label: 'no answer' };
  const lines = content.trim().split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const first = (lines[0] ?? '').toLowerCase();
  if (first === 'safe') return { verdict: 'safe', label: null };
  if (first === 'unsafe') {
    const cat = lines[1] && /^[A-Za-z0-9_, -]{1,64}$/.test(lines[1]) ? lines[1] : null;
    return { verdict: 'unsafe', label: cat };
  }
  return { verdict: 'error', label: 'unreadable answer' };
}

/** 52 bits of FNV-1a over the text (two 32-bit lanes), for the per-session verdict cache. */
function textHash(s: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 12) & 0xfffff);
}
