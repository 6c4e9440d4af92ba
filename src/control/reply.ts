// Small helpers for answering on the control listener, in the SPEC.md error shape.
import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, type: string, code: string, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { error: { message, type, code } }, headers);
}
