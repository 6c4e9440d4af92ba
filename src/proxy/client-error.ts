// Answers for what node:http refuses before a request handler runs (a malformed request line or
// headers, headers over the size limit, a header timeout) and for CONNECT, which neither listener
// serves. Every such client gets a status and a JSON body in the SPEC error shape, not a bare close.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, rawHttpError } from '../errors/index.js';

interface Answer { status: number; type: string; code: string; message: string }

const HEADERS_TOO_LARGE: Answer = {
  status: 431, type: 'invalid_request', code: 'headers_too_large',
  message: 'the request headers are over the size limit',
};
const TIMEOUT: Answer = {
  status: 408, type: 'invalid_request', code: 'request_timeout',
  message: 'the request was not received in time',
};
const BAD_HTTP: Answer = {
  status: 400, type: 'invalid_request', code: 'bad_http', message: 'the request is not valid HTTP',
};

/** Which answer a node:http parser or server error gets. */
export function clientErrorAnswer(code: string | undefined): Answer {
  if (code === 'HPE_HEADER_OVERFLOW') return HEADERS_TOO_LARGE;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return TIMEOUT;
  return BAD_HTTP;
}

function rawResponse(a: Answer): string {
  return rawHttpError(a.status, a.type, a.code, a.message);
}

/**
 * The 'clientError' handler: `server.on('clientError', answerClientError)`. Nothing is written when
 * the peer is gone, or when a response on this connection already sent its head: the error bytes
 * would land inside that response's body (node's own handler makes the same check).
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (!socket.writable || err.code === 'ECONNRESET' || (inFlight != null && inFlight.headersSent === true)) {
    socket.destroy();
    return;
  }
  socket.end(rawResponse(clientErrorAnswer(err.code)));
}

const CONNECT: Answer = {
  status: 405, type: 'invalid_request', code: 'method_not_allowed',
  message: 'CONNECT is not supported: cordon is a gateway, not a forward proxy',
};

/** The 'connect' handler: without one node closes the socket with no answer at all. */
export function answerConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', destroySelf);
  if (!socket.writable) { socket.destroy(); return; }
  socket.end(rawResponse(CONNECT));
}

function destroySelf(this: Duplex): void { this.destroy(); }

const NO_UPGRADE: Answer = {
  status: 400, type: 'invalid_request', code: 'upgrade_not_supported',
  message: 'this listener does not take protocol upgrades (the live event feed is Server-Sent Events: GET /control/events)',
};

/** The control listener's 'upgrade' handler: without one node closes the socket with no answer. */
export function answerUpgradeRefused(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', destroySelf);
  if (!socket.writable) { socket.destroy(); return; }
  socket.end(rawResponse(NO_UPGRADE));
}

const MISSING_HOST = errorBody('invalid_request', 'missing_host', 'an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)');

/**
 * True (and the request answered 400 in the SPEC shape, connection closed) for an HTTP/1.1 request
 * without Host. Node's own check answers a bare 400 with no body, so both listeners turn it off
 * (noHostCheck) and call this first in their request handler.
 */
export function refuseMissingHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.headers.host !== undefined || req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return false;
  req.resume(); // whatever body follows is discarded
  res.shouldKeepAlive = false;
  res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(MISSING_HOST) });
  res.end(MISSING_HOST);
  return true;
}

/** Turns off node's bare-400 Host check (a server option that @types/node does not list as a field). */
export function noHostCheck(server: Server): void {
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
}
