// Tool calls a model makes, read from its answer: OpenAI chat completions (`tool_calls`, legacy
// `function_call`), Anthropic messages (`tool_use` blocks, `input_json_delta`), and the Responses
// API (`function_call` items and their argument deltas). Streams arrive as SSE events; the tracker
// keeps each open call's name and arguments (bounded) until the call is complete.

export interface ToolCall {
  name: string;
  /** the arguments as text, exactly as streamed (JSON) */
  args: string;
}

/** Arguments kept per open call; past it the call is refused as too large to check. */
export const MAX_ARGS_CHARS = 64 * 1024;

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
}

/** Calls of a whole (non-streamed) answer. */
export function callsInBody(body: unknown): ToolCall[] {
  const out: ToolCall[] = [];
  const o = obj(body);
  if (o === null) return out;
  if (Array.isArray(o.choices)) {
    for (const c of o.choices) {
      const m = obj(obj(c)?.message);
      if (m === null) continue;
      if (Array.isArray(m.tool_calls)) {
        for (const tc of m.tool_calls) {
          const f = obj(obj(tc)?.function);
          if (f && typeof f.name === 'string') out.push({ name: f.name, args: typeof f.arguments === 'string' ? f.arguments : JSON.stringify(f.arguments ?? {}) });
        }
      }
      const fc = obj(m.function_call);
      if (fc && typeof fc.name === 'string') out.push({ name: fc.name, args: typeof fc.arguments === 'string' ? fc.arguments : '' });
    }
  }
  if (Array.isArray(o.content)) {
    for (const b of o.content) {
      const blk = obj(b);
      if (blk && (blk.type === 'tool_use' || blk.type === 'server_tool_use') && typeof blk.name === 'string') out.push({ name: blk.name, args: JSON.stringify(blk.input ?? {}) });
    }
  }
  if (Array.isArray(o.output)) {
    for (const it of o.output) {
      const item = obj(it);
      if (item && item.type === 'function_call' && typeof item.name === 'string') out.push({ name: item.name, args: typeof item.arguments === 'string' ? item.arguments : '' });
    }
  }
  return out;
}

interface Open { name: string; args: string; tooLarge: boolean }

/**
 * Streamed calls. `event` takes one SSE event's parsed data; completed calls are queued in
 * `done` for the caller to take. Keys: choice*4096 + tool index (OpenAI), block index (Anthropic),
 * output index (Responses).
 */
export class CallTracker {
  readonly open = new Map<number, Open>();
  readonly done: Array<ToolCall & { tooLarge: boolean }> = [];
  /** a call has started since the caller last cleared this */
  started = false;

  event(data: unknown): void {
    const o = obj(data);
    if (o === null) return;
    if (Array.isArray(o.choices)) return this.openai(o.choices);
    const type = o.type;
    if (typeof type !== 'string') return;
    switch (type) {
      case 'content_block_start': {
        const b = obj(o.content_block);
        if (b && (b.type === 'tool_use' || b.type === 'server_tool_use') && typeof b.name === 'string') {
          const input = obj(b.input);
          this.begin(num(o.index), b.name, input && Object.keys(input).length > 0 ? JSON.stringify(input) : '');
        }
        return;
      }
      case 'content_block_delta': {
        const d = obj(o.delta);
        if (d && d.type === 'input_json_delta' && typeof d.partial_json === 'string') this.append(num(o.index), d.partial_json);
        return;
      }
      case 'content_block_stop': return this.complete(num(o.index));
      case 'message_stop': return this.completeAll();
      case 'response.output_item.added': {
        const it = obj(o.item);
        if (it && it.type === 'function_call' && typeof it.name === 'string') this.begin(num(o.output_index), it.name, typeof it.arguments === 'string' ? it.arguments : '');
        return;
      }
      case 'response.function_call_arguments.delta':
        if (typeof o.delta === 'string') this.append(num(o.output_index), o.delta);
        return;
      case 'response.function_call_arguments.done': {
        const c = this.open.get(num(o.output_index));
        if (c && typeof o.arguments === 'string' && o.arguments.length <= MAX_ARGS_CHARS) c.args = o.arguments;
        return this.complete(num(o.output_index));
      }
      case 'response.output_item.done': return this.complete(num(o.output_index));
      case 'response.completed': case 'response.failed': case 'response.incomplete': return this.completeAll();
    }
  }

  /** `data: [DONE]` or the end of the stream */
  completeAll(): void {
    for (const k of [...this.open.keys()]) this.complete(k);
  }

  private openai(choices: unknown[]): void {
    for (const ch of choices) {
      const c = obj(ch);
      if (c === null) continue;
      const base = num(c.index) * 4096;
      const d = obj(c.delta);
      if (d !== null) {
        if (Array.isArray(d.tool_calls)) {
          for (const t of d.tool_calls) {
            const tc = obj(t);
            if (tc === null) continue;
            const key = base + 1 + (num(tc.index) % 4095);
            const f = obj(tc.function);
            if (f && typeof f.name === 'string' && f.name.length > 0 && !this.open.has(key)) {
              // a new call on this choice: the previous ones there are complete
              for (const k of [...this.open.keys()]) if (k >= base && k < base + 4096) this.complete(k);
              this.begin(key, f.name, '');
            }
            if (f && typeof f.arguments === 'string') this.append(key, f.arguments);
          }
        }
        const fc = obj(d.function_call);
        if (fc) {
          if (typeof fc.name === 'string' && fc.name.length > 0 && !this.open.has(base)) this.begin(base, fc.name, '');
          if (typeof fc.arguments === 'string') this.append(base, fc.arguments);
        }
      }
      if (c.finish_reason !== null && c.finish_reason !== undefined) {
        for (const k of [...this.open.keys()]) if (k >= base && k < base + 4096) this.complete(k);
      }
    }
  }

  private begin(key: number, name: string, args: string): void {
    if (this.open.has(key)) this.complete(key);
    this.open.set(key, { name, args, tooLarge: args.length > MAX_ARGS_CHARS });
    this.started = true;
  }

  private append(key: number, s: string): void {
    const c = this.open.get(key);
    if (c === undefined || c.tooLarge) return;
    if (c.args.length + s.length > MAX_ARGS_CHARS) {
      c.tooLarge = true;
      c.args = '';
      return;
    }
    c.args += s;
  }

  private complete(key: number): void {
    const c = this.open.get(key);
    if (c === undefined) return;
    this.open.delete(key);
    this.done.push({ name: c.name, args: c.args, tooLarge: c.tooLarge });
  }

  /** bytes held by open calls */
  bytes(): number {
    let n = 64;
    for (const c of this.open.values()) n += 48 + c.name.length * 2 + c.args.length * 2;
    return n;
  }
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
}
