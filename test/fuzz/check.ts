// Reading what the gateway answered in the fuzz (test/e2e/fuzz.test.ts): raw HTTP/1.1 responses
// split by their framing, and the checks that every answer of the gateway's own is in the SPEC shape.

export interface RawResponse { status: number; headers: Map<string, string>; body: Buffer }

/** The responses in `buf` one after another (Content-Length, chunked, or to the end); null if unparseable. */
export function parseResponses(buf: Buffer, headRequest: boolean): RawResponse[] | null {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return null;
    const lines = buf.toString('latin1', at, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
    if (m === null) return null;
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i <= 0) return null;
      headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
    }
    const status = Number(m[1]);
    at = end + 4;
    let body: Buffer;
    if (headRequest || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers.has('content-length')) {
      const n = Number(headers.get('content-length'));
      body = buf.subarray(at, at + n);
      at += n;
    } else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const le = buf.indexOf('\r\n', at);
        if (le < 0) return null;
        const size = parseInt(buf.toString('latin1', at, le), 16);
        if (!Number.isFinite(size)) return null;
        at = le + 2;
        if (size === 0) { const t = buf.indexOf('\r\n\r\n', at - 2); at = t < 0 ? buf.length : t + 4; break; }
        parts.push(buf.subarray(at, at + size));
        at += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      body = buf.subarray(at);
      at = buf.length;
    }
    out.push({ status, headers, body });
    if (status >= 200 && headers.get('connection')?.toLowerCase() === 'close') break;
  }
  return out;
}

/** Null when `body` is `{"error":{"message","type","code"}}` with string fields, else what is wrong. */
export function specErrorProblem(body: Buffer | string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return `not JSON: ${String(body).slice(0, 120)}`;
  }
  const e = (v as { error?: Record<string, unknown> } | null)?.error;
  if (e === undefined || e === null || typeof e !== 'object') return `no error object: ${JSON.stringify(v).slice(0, 120)}`;
  for (const k of ['message', 'type', 'code']) if (typeof e[k] !== 'string' || e[k] === '') return `error.${k} missing: ${JSON.stringify(v).slice(0, 120)}`;
  return null;
}

/** Each `event: error` in an SSE body carries the SPEC shape in its data. */
export function sseErrorProblems(body: string): string | null {
  const re = /(?:^|\n)event: error\ndata: ([^\n]*)\n/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    const p = specErrorProblem(m[1]);
    if (p !== null) return `event: error with ${p}`;
  }
  return null;
}
