// Rewriting one SSE event of an answer whose text a hold-back changed (sse-hold.ts): the event's
// data is parsed, the text of one choice is set, and the event is written again. Only events whose
// text changed come here; every other event goes out as the bytes it came in.
import type { HoldSpec } from './hold-rules.js';
import { PART_STRIDE } from '../protocols/choice-scopes.js';

/** Keys whose string values are text in a streamed delta (as protocols/json-text.ts reads them). */
const TEXT_KEYS = new Set(['content', 'text', 'refusal', 'response', 'delta']);
/** Subtrees that are no answer text: tool definitions and tool-call arguments. */
const NOT_TEXT = new Set(['tools', 'functions', 'input', 'arguments', 'partial_json']);

type Json = Record<string, unknown>;

/** The `data` of a raw SSE event (lines joined with \n), and its `event` name ('' if none). */
export function parseEvent(raw: Buffer): { name: string; data: string } {
  const lines = raw.toString('utf8').split(/\r\n|\r|\n/);
  let name = '';
  const data: string[] = [];
  for (const line of lines) {
    const c = line.indexOf(':');
    if (c === 0) continue;
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') name = value;
  }
  return { name, data: data.join('\n') };
}

export function formatEvent(name: string, data: string): Buffer {
  return Buffer.from(`${name !== '' ? `event: ${name}\n` : ''}data: ${data}\n\n`, 'utf8');
}

/**
 * Sets the text of choice `key` in a parsed event to `text` (the first text field gets it, the
 * others become empty). With `only`, other choices are dropped (a synthesized event). Returns
 * whether the event had a text field for that choice.
 */
export function setChoiceText(ev: Json, key: number, text: string, only = false): boolean {
  const type = typeof ev.type === 'string' ? ev.type : '';
  const state = { text, found: false, resp: type.startsWith('response.') };
  if (Array.isArray(ev.choices)) {
    const kept: unknown[] = [];
    ev.choices.forEach((el, i) => {
      if (el === null || typeof el !== 'object') return;
      const k = typeof (el as Json).index === 'number' ? (el as Json).index as number : i;
      if (k !== key) { if (!only) kept.push(el); return; }
      kept.push(el);
      walk(el as Json, state);
    });
    ev.choices = kept;
    return state.found;
  }
  if (eventKey(ev) !== key) return false;
  if (state.resp && type.includes('arguments')) return false;
  walk(ev, state);
  return state.found;
}

/** The choice key of an event-level text (Anthropic `index`, Responses output and content indexes). */
function eventKey(ev: Json): number {
  if (typeof ev.output_index === 'number') return ev.output_index * PART_STRIDE + Math.min(PART_STRIDE - 1, typeof ev.content_index === 'number' ? ev.content_index : 0);
  return typeof ev.index === 'number' ? ev.index : 0;
}

function walk(node: Json, st: { text: string; found: boolean; resp: boolean }): void {
  for (const k of Object.keys(node)) {
    if (NOT_TEXT.has(k)) continue;
    const v = node[k];
    if (typeof v === 'string') {
      if (st.resp ? k === 'delta' : TEXT_KEYS.has(k)) {
        node[k] = st.found ? '' : st.text;
        st.found = true;
      }
    } else if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) { for (const x of v) if (x !== null && typeof x === 'object') walk(x as Json, st); } else walk(v as Json, st);
    }
  }
}

/**
 * Every string in a parsed event with each held pattern's matches replaced by the marker (a
 * Responses `.done` or `response.completed` event repeats the whole text). Returns whether any changed.
 */
export function redactAll(node: unknown, spec: HoldSpec): boolean {
  if (node === null || typeof node !== 'object') return false;
  let changed = false;
  const obj = node as Json;
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (typeof v === 'string') {
      const r = redactString(v, spec);
      if (r !== v) { obj[k] = r; changed = true; }
    } else if (redactAll(v, spec)) {
      changed = true;
    }
  }
  return changed;
}

export function redactString(s: string, spec: HoldSpec): string {
  let out = s;
  for (const p of spec.patterns) {
    p.re.lastIndex = 0;
    out = out.replace(p.re, `[REDACTED:${p.name}]`);
    p.re.lastIndex = 0;
  }
  return out;
}
