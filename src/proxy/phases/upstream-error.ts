// Phase "upstream error": what an undici error before the response head means for the exchange.
import { ERR, type ProxyError } from '../../errors/index.js';

/** A refused or failed connection never reached the backend: safe to try another upstream once. */
export function isConnectFailure(code: string): boolean {
  return code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

/** The refusal for an upstream that failed before its response head (502, or 504 for timeouts). */
export function upstreamFailure(code: string, err: Error): ProxyError {
  const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
  return timeout ? ERR.timeout(describe(code, err)) : ERR.upstream(describe(code, err));
}

function describe(code: string, err: Error): string {
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': case 'UND_ERR_SOCKET': return 'connection reset';
    case 'UND_ERR_CONNECT_TIMEOUT': return 'connect timed out';
    case 'UND_ERR_HEADERS_TIMEOUT': return 'no response headers in time';
    default: return code || err.message;
  }
}
