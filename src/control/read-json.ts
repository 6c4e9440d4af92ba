// A control request's JSON body, read with a size bound: a POST body is small (a key's agent, team,
// budget and tools); anything larger is refused rather than buffered.
import type { IncomingMessage } from 'node:http';

export const CONTROL_BODY_MAX = 64 * 1024;

export type JsonBody = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string };

/** The body parsed as JSON; an empty body is `{}`. */
export function readJsonBody(req: IncomingMessage, max = CONTROL_BODY_MAX): Promise<JsonBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      n += c.length;
      if (n > max) {
        done = true;
        resolve({ ok: false, status: 413, message: `the body is over ${max} bytes` });
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks, n).toString('utf8').trim();
      if (text === '') return resolve({ ok: true, value: {} });
      try {
        resolve({ ok: true, value: JSON.parse(text) as unknown });
      } catch {
        resolve({ ok: false, status: 400, message: 'the body is not valid JSON' });
      }
    });
    req.on('error', () => {
      if (!done) { done = true; resolve({ ok: false, status: 400, message: 'the body could not be read' }); }
    });
  });
}
