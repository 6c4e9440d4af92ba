// The policy engine the proxy calls: compiled rules shared by every stream, a request inspector
// that scans only the turns new since the session's last request, per-response stream inspectors,
// and metric rules that enforce. Per-session state is in lazy side maps keyed by slot.
import type { Direction, RuleAction, Severity } from '../events.js';
import type { ProfileBounds } from '../config/profiles.js';
import type { JudgeConfig, Preset } from '../config/schema.js';
import { Judge } from './judge/judge.js';
import { judgeHits } from './judge/hits.js';
import { emitText, splitRequest, type RequestParts, type TextSink } from '../protocols/llm-request.js';
import { TurnHash } from '../protocols/turn-hash.js';
import { hasDuplicateKeys } from '../protocols/json-keys.js';
import { REQ_TEXT, REQ_TOOL } from './channels.js';
import { compilePolicy, compilePolicySliced, type CompiledPolicy, type CompileInput, type PolicyRule } from './compile.js';
import { bodyKind, ResponseInspector, type InspectorHost } from './inspector.js';
import { MetricTable } from './metrics.js';
import { holdSpec, type HoldSpec } from './hold-rules.js';
import { redactAnswer } from './redact.js';
import { presetDetection, presetRules } from './presets/index.js';
import { Detector, detectorInput, type DetectResult, type DetectScan } from './detect/detector.js';
import { MAX_VIEW, NormalizedView } from './detect/view.js';
import { normalize } from './detect/normalize.js';
import { ScanContext } from './scanner.js';
import type { Hit, PolicyEngine, RuleStat, StreamInspector } from './types.js';

export interface PolicyEngineOptions {
  preset: Preset;
  rules: readonly PolicyRule[];
  bounds: Readonly<ProfileBounds>;
  /** the engine returns each rule's own action whatever the mode; the proxy downgrades in audit */
  mode: 'enforce' | 'audit';
  /** `policy.judge`: a guard model asked about doubtful requests */
  judge?: JudgeConfig;
}

/** One request's split, reused: inspectRequest runs to completion, and clears it so it pins no body. */
const PARTS: RequestParts = { turns: null, other: [], mcpToolCall: false };

/** Turns scanned per session: how many, and the keyed digest of them (protocols/turn-hash.ts). */
interface Prefix { n: number; digest: string }

/** One request's scan: a text context and, when tool arguments appear, a tool context. */
class RequestScan implements TextSink {
  /** created on first text: a request whose turns were all scanned before needs none */
  private textCtx: ScanContext | null = null;
  private toolCtx: ScanContext | null = null;
  private hits: Hit[] | null = null;
  /** anomaly scoring of the text (null when the preset has none) */
  private readonly detect: DetectScan | null;
  /** language rules over the normalized view of text that normalization changed */
  private view: NormalizedView | null = null;
  detected: DetectResult | null = null;

  constructor(private readonly policy: CompiledPolicy, private readonly excerptBytes: number, detector: Detector | null,
    private readonly rawOnly: Uint8Array) {
    this.detect = detector ? detector.open() : null;
  }

  private add(h: Hit[] | null): void {
    if (!h) return;
    if (!this.hits) this.hits = h;
    else for (const x of h) this.hits.push(x);
  }

  text(s: string): void {
    this.textCtx ??= new ScanContext(this.policy, REQ_TEXT, 'request', this.excerptBytes);
    this.add(this.textCtx.write(s));
    // Strings are separated as the model sees them: "hi" then "Ignore all..." joined bare made
    // "hiIgnore", where `\b` failed and the attack in the second content part passed.
    this.add(this.textCtx.write('\n'));
    this.textCtx.boundary();
    const norm = s.length <= MAX_VIEW ? normalize(s) : null;
    this.detect?.text(s, norm);
    if (norm !== null && norm.map !== null) (this.view ??= new NormalizedView(this.policy, this.excerptBytes, this.rawOnly)).text(s, norm);
  }

  tool(s: string): void {
    this.toolCtx ??= new ScanContext(this.policy, REQ_TOOL, 'request', this.excerptBytes);
    this.add(this.toolCtx.write(s));
    this.add(this.toolCtx.write('\n'));
    this.toolCtx.boundary();
    // tool arguments are text a model or a tool reads: injection signals read them too
    this.detect?.text(s, s.length <= MAX_VIEW ? normalize(s) : null);
  }

  end(): Hit[] | null {
    if (this.textCtx) this.add(this.textCtx.end());
    if (this.toolCtx) this.add(this.toolCtx.end());
    if (this.view) this.add(this.view.end(this.hits));
    if (this.detect) {
      this.detected = this.detect.result();
      if (this.detected.hit) this.add([this.detected.hit]);
    }
    return this.hits;
  }
}

class Engine implements PolicyEngine, InspectorHost {
  readonly policy: CompiledPolicy;
  readonly metrics: MetricTable;
  readonly excerptBytes: number;
  /** what streamed answers hold back (hold-rules.ts); none in audit mode, where no answer changes */
  readonly holdSpec: HoldSpec | null;
  readonly hasRequestRules: boolean;
  readonly hasResponseRules: boolean;
  readonly actsOnResponses: boolean;
  streamBytes = 0;
  private readonly prefixes = new Map<number, Prefix>();
  readonly detector: Detector | null;
  /** by rule index: 1 when the rule matches raw text only (secrets, PII) */
  private readonly rawOnly: Uint8Array;
  /** the last request's detection result (read by the judge right after inspectRequest) */
  lastDetection: DetectResult | null = null;
  readonly judge: Judge | null;

  /** `compiled`: the rule set and the detector's signals compiled beforehand (a reload's, sliced) */
  constructor(opts: PolicyEngineOptions, compiled?: Compiled) {
    this.policy = compiled?.policy ?? compilePolicy(engineInput(opts));
    this.judge = opts.judge ? new Judge(opts.judge) : null;
    const det = presetDetection(opts.preset);
    this.detector = det ? new Detector(det, opts.bounds.excerpt_bytes, compiled?.signals ?? undefined) : null;
    this.rawOnly = Uint8Array.from(this.policy.rules.map((r) => (r.redact || r.name.startsWith('secret.') || r.name.startsWith('pii.') ? 1 : 0)));
    this.metrics = new MetricTable(this.policy.metricRules);
    this.excerptBytes = opts.bounds.excerpt_bytes;
    this.holdSpec = opts.mode === 'enforce' ? holdSpec(this.policy) : null;
    this.hasRequestRules = (this.policy.mask & (REQ_TEXT | REQ_TOOL)) !== 0 || this.metrics.size > 0 || this.detector !== null;
    this.hasResponseRules = (this.policy.mask & ~(REQ_TEXT | REQ_TOOL)) !== 0 || this.metrics.size > 0 || this.detector !== null;
    this.actsOnResponses = this.policy.rules.some((r) => (r.mask & ~(REQ_TEXT | REQ_TOOL)) !== 0 && r.action !== 'flag' && r.action !== 'hold')
      || (this.detector !== null && this.detector.config.action !== 'flag');
  }

  countHits(hits: Hit[]): void {
    for (const h of hits) {
      const r = this.policy.rules.find((x) => x.name === h.rule) ?? this.detector?.policy.rules.find((x) => x.name === h.rule);
      if (r) r.hits++;
    }
  }

  inspectRequest(slot: number, body: Buffer, json: unknown, _path: string, nowMs: number): Hit[] | null {
    // A JSON body sent under another content type (text/plain) is not parsed by the proxy, but a
    // backend that ignores the content type still reads it as JSON: scanned as raw text, its
    // escapes ("instru\u0063tions") hid a match. Scan what the backend would decode.
    if (json === undefined) json = jsonInDisguise(body);
    const parts = json === undefined ? null : splitRequest(json, PARTS);
    try {
      return this.inspectParts(slot, body, parts, nowMs);
    } finally {
      PARTS.turns = null;
      PARTS.other.length = 0;
    }
  }

  private inspectParts(slot: number, body: Buffer, parts: RequestParts | null, nowMs: number): Hit[] | null {
    let hits = this.metrics.checkRequest(slot, body.length, parts?.mcpToolCall ?? false, nowMs);
    if (hits && hits.some((h) => h.action !== 'flag')) {
      this.countHits(hits);
      return hits;
    }
    this.lastDetection = null;
    if ((this.policy.mask & (REQ_TEXT | REQ_TOOL)) !== 0 || this.detector !== null) {
      const scan = new RequestScan(this.policy, this.excerptBytes, this.detector, this.rawOnly);
      let packed: Prefix | null = null;
      if (!parts) {
        // not JSON: the body is scanned as text
        scan.text(body.toString('utf8'));
      } else {
        for (const v of parts.other) emitText(v, scan);
        if (parts.turns) packed = this.scanTurns(slot, parts.turns, scan);
      }
      const found = scan.end();
      this.lastDetection = scan.detected;
      if (found) {
        hits = hits ? hits.concat(found) : found;
        // A refused request must be scanned in full again if it is sent again.
        if (found.some((h) => h.action !== 'flag')) packed = null;
      }
      if (packed !== null) this.prefixes.set(slot, packed);
    }
    if (hits) this.countHits(hits);
    return hits;
  }

  /** Scans the turns after the prefix this session already had scanned; returns the new prefix. */
  private scanTurns(slot: number, turns: unknown[], sink: TextSink): Prefix {
    const prev = this.prefixes.get(slot);
    const h = new TurnHash();
    let from = 0;
    if (prev !== undefined && prev.n > 0 && prev.n <= turns.length) {
      for (let i = 0; i < prev.n; i++) h.add(turns[i]);
      if (h.mark() === prev.digest) from = prev.n;
    }
    // A mismatch rescans from the first turn; the digest of the mismatched prefix is not reused.
    const run = from === 0 && prev !== undefined ? new TurnHash() : h;
    for (let i = from; i < turns.length; i++) {
      emitText(turns[i], sink);
      run.add(turns[i]);
    }
    return { n: turns.length, digest: run.final() };
  }

  openResponse(slot: number, contentType: string | undefined, _path: string): StreamInspector | null {
    if (!this.hasResponseRules) return null;
    return new ResponseInspector(this, slot, bodyKind(contentType));
  }

  redactAnswer(body: Buffer, contentType: string | undefined, rules: ReadonlySet<string>): Buffer | null {
    return redactAnswer(this.policy, body, contentType, rules, this.excerptBytes);
  }

  windowedRequestRules(): ReadonlyArray<{ name: string; limit: number; windowMs: number; action: RuleAction; severity: Severity }> {
    return this.policy.metricRules
      .filter((r) => r.metric === 'requests' && r.windowMs > 0 && r.action !== 'flag')
      .map((r) => ({ name: r.name, limit: r.limit, windowMs: r.windowMs, action: r.action, severity: r.severity }));
  }

  openMessage(slot: number, direction: Direction, contentType: string | undefined): StreamInspector | null {
    if (!(direction === 'request' ? this.hasRequestRules : this.hasResponseRules)) return null;
    return new ResponseInspector(this, slot, bodyKind(contentType), direction, true);
  }

  settleResponse(slot: number, tokens: number, toolCalls: number, nowMs: number): Hit[] | null {
    const m = this.metrics;
    if (m.size === 0) return null;
    let out: Hit[] | null = null;
    // Report rules this response pushed over their limit (not the ones already over before it).
    for (const [metric, n] of [['tokens', tokens], ['tool_calls', toolCalls]] as const) {
      if (n <= 0 || !m.has[metric]) continue;
      const before = m.checkStream(slot, metric, 0, nowMs, null);
      m.add(slot, metric, n, nowMs);
      const after = m.checkStream(slot, metric, 0, nowMs, null);
      if (after) {
        for (const h of after) {
          if (before?.some((b) => b.rule === h.rule)) continue;
          (out ??= []).push(h);
        }
      }
    }
    if (out) this.countHits(out);
    return out;
  }

  judgeRequest(slot: number): Promise<Hit[] | null> | null {
    const j = this.judge;
    const d = this.lastDetection;
    this.lastDetection = null;
    if (j === null || d === null || d.hit !== null || d.text.length === 0 || !j.wants(d.doubtful)) return null;
    return j.ask(slot, d.text).then((a) => judgeHits(a, d, j.cfg.on_error, this.excerptBytes));
  }

  releaseSession(slot: number): void {
    this.judge?.release(slot);
    this.prefixes.delete(slot);
    this.metrics.release(slot);
  }

  rules(): RuleStat[] {
    const own = this.policy.rules.map((r): RuleStat => ({
      name: r.name, kind: r.metric ? 'metric' : 'pattern', target: r.target, severity: r.severity,
      action: r.action, hits: r.hits, source: r.source,
    }));
    // detection signals: `hits` counts the requests each one was the heaviest signal of
    const det = this.detector;
    if (det) for (const r of det.policy.rules) own.push({ name: r.name, kind: 'pattern', target: 'request', severity: det.config.severity, action: det.config.action, hits: r.hits, source: 'preset' });
    return own;
  }

  bytes(): number {
    return this.prefixes.size * 96 + this.metrics.bytes() + this.streamBytes + (this.judge?.bytes() ?? 0);
  }

  /** Bytes of the compiled, shared tables (not per session). */
  compiledBytes(): number {
    return this.policy.ac ? this.policy.ac.bytes() : 0;
  }
}

/** The parsed body when it is JSON whatever its content type said, else undefined. */
function jsonInDisguise(body: Buffer): unknown {
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (i === body.length || (body[i] !== 0x7b && body[i] !== 0x5b)) return undefined; // { or [
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    // with a key given twice the raw text (both values) is scanned instead
    return hasDuplicateKeys(body, v) ? undefined : v;
  } catch {
    return undefined;
  }
}

export function createPolicyEngine(opts: PolicyEngineOptions): PolicyEngine & { compiledBytes(): number } {
  return new Engine(opts);
}

interface Compiled { policy: CompiledPolicy; signals: CompiledPolicy | null }

function engineInput(opts: PolicyEngineOptions): CompileInput {
  return { preset: presetRules(opts.preset), rules: opts.rules, tailBytes: opts.bounds.scan_tail_bytes };
}

/**
 * The same engine built for a config reload: its patterns are compiled in slices that give the
 * event loop back (compilePolicySliced), so requests keep flowing while it is built.
 */
export async function createPolicyEngineSliced(opts: PolicyEngineOptions): Promise<PolicyEngine & { compiledBytes(): number }> {
  const policy = await compilePolicySliced(engineInput(opts));
  const det = presetDetection(opts.preset);
  const signals = det ? await compilePolicySliced(detectorInput(det)) : null;
  return new Engine(opts, { policy, signals });
}
