// Refusals on a socket that has not been switched to WebSocket: a plain HTTP error in the
// SPEC.md JSON shape, then the socket is closed.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from '../../errors/index.js';

/** A plain HTTP error on a socket that has not been switched, then the socket is closed. */
export function writeHttpError(s: Duplex, status: number, type: string, code: string, message: string, sessionId: string | null, headers?: Record<string, string>): void {
  if (s.destroyed || !s.writable) {
    s.destroy();
    return;
  }
  const body = errorBody(type, code, message);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n`;
  if (sessionId !== null) head += `X-Session-ID: ${sessionId}\r\n`;
  if (headers) for (const k of Object.keys(headers)) head += `${k}: ${headers[k]}\r\n`;
  s.on('finish', destroySelf);
  s.end(`${head}\r\n${body}`);
}

function destroySelf(this: Duplex): void {
  this.destroy();
}
