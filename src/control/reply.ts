// Small helpers for answering on the control listener, in the SPEC.md error shape.
import type { ServerResponse } from 'node:http';
import { errorBody } from '../errors/index.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  sendText(res, status, JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, text: string, headers?: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, type: string, code: string, message: string, headers?: Record<string, string>): void {
  sendText(res, status, errorBody(type, code, message), headers);
}
