// The one place a refusal becomes bytes: an HTTP status with a JSON body (ServerResponse or a raw
// socket), the last SSE event of a cut stream, a WebSocket close code, and a metric reason.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { ProxyError, ProxyErrorType } from './catalog.js';

/** The SPEC error body: {"error":{"message","type","code"}}. */
export function errorBody(type: string, code: string, message: string): string {
  return JSON.stringify({ error: { message, type, code } });
}

/** Writes a gateway error unless headers already went out; then the socket is closed instead. */
export function sendProxyError(res: ServerResponse, err: ProxyError, sessionId: string | null): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(err.type, err.code, err.message);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (sessionId !== null) headers['x-session-id'] = sessionId;
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  res.writeHead(err.status, headers);
  res.end(body);
}

/** A whole HTTP/1.1 response for a socket node:http does not own (before or instead of a request). */
export function rawHttpError(status: number, type: string, code: string, message: string, extraHead = ''): string {
  const body = errorBody(type, code, message);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extraHead}\r\n${body}`;
}

/** The last SSE event of a stream that a rule or a kill ends (SPEC.md). */
export function sseErrorEvent(err: ProxyError): string {
  return `event: error\ndata: ${errorBody(err.type, err.code, err.message)}\n\n`;
}

/**
 * The close code a WebSocket gets when this error ends it: 1008 (policy violation) for a session's
 * end or a rule, 1001 (going away) when the gateway drains, 1011 for the rest.
 */
export function wsCloseCode(err: ProxyError): number {
  if (err.code === 'draining') return 1001;
  if (err.status === 403 || err.status === 429) return 1008;
  return 1011;
}

/** The `type` label of cordon_rejections_total: the SPEC error type. */
export function metricReason(err: ProxyError): ProxyErrorType {
  return err.type;
}
