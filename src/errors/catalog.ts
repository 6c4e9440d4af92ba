// Every refusal the gateway itself makes, as a typed value (SPEC.md's OpenAI error shape). Parts
// return these; render.ts alone turns one into bytes (HTTP, SSE, WebSocket close, metric reason).

/**
 * Every error `type` (SPEC.md). The one list: cordon_rejections_total{type} takes its labels from
 * it, so a new type added here is counted with no change elsewhere.
 */
export const PROXY_ERROR_TYPES = [
  'invalid_request', 'policy_violation', 'session_killed', 'session_terminated', 'request_too_large',
  'rate_limited', 'upstream_error', 'upstream_timeout', 'overloaded', 'approval_denied',
  'not_found', 'invalid_api_key', 'forbidden', 'agent_killed', 'budget_exceeded', 'unsupported_encoding',
] as const;
export type ProxyErrorType = (typeof PROXY_ERROR_TYPES)[number];

export interface ProxyError {
  /** HTTP status of the refusal */
  status: number;
  type: ProxyErrorType;
  code: string;
  message: string;
  retryAfter?: number;
}

const KEY_MESSAGES = {
  missing: 'an API key is required: send Authorization: Bearer <key> or x-api-key: <key>',
  unknown: 'the API key is not valid',
  revoked: 'the API key was revoked',
  malformed: 'the Authorization header must be "Bearer <key>"',
} as const;

export const ERR = {
  shuttingDown: (): ProxyError => ({ status: 503, type: 'overloaded', code: 'shutting_down', message: 'shutting down', retryAfter: 1 }),
  draining: (): ProxyError => ({ status: 503, type: 'overloaded', code: 'draining', message: 'the gateway is shutting down; retry on another instance', retryAfter: 1 }),
  fleetDown: (): ProxyError => ({ status: 503, type: 'overloaded', code: 'fleet_unavailable', message: 'the fleet store is unreachable and this gateway refuses meanwhile (fleet.on_redis_down: refuse); retry later', retryAfter: 2 }),
  overloaded: (): ProxyError => ({ status: 503, type: 'overloaded', code: 'memory_pressure', message: 'the gateway is under critical memory pressure; retry later', retryAfter: 5 }),
  badSessionId: (): ProxyError => ({ status: 400, type: 'invalid_request', code: 'invalid_session_id', message: 'X-Session-ID must be 1-128 characters of A-Z a-z 0-9 . _ : -, not only dots' }),
  /** a request-target that is not a path or an http(s) URL (`*`, `host:port`): see request-target.ts */
  badTarget: (): ProxyError => ({ status: 400, type: 'invalid_request', code: 'bad_request_target', message: 'the request target must be a path such as /v1/chat/completions' }),
  /** a request undici refuses to send (its checks are stricter than node's parser): the request's fault, not the upstream's */
  unsendable: (): ProxyError => ({ status: 400, type: 'invalid_request', code: 'bad_request', message: 'the request cannot be forwarded as it is (invalid path or header)' }),
  badJson: (): ProxyError => ({ status: 400, type: 'invalid_request', code: 'invalid_json', message: 'the request body is not valid JSON, and the policy must read it' }),
  /** an Expect header other than 100-continue (RFC 9110 §10.1.1: 417) */
  expectation: (): ProxyError => ({ status: 417, type: 'invalid_request', code: 'expectation_failed', message: 'the only Expect this gateway meets is 100-continue' }),
  tooLarge: (limit: number): ProxyError => ({ status: 413, type: 'request_too_large', code: 'request_too_large', message: `the request body is over the ${limit}-byte limit` }),
  killed: (): ProxyError => ({ status: 403, type: 'session_killed', code: 'session_killed', message: 'this session was killed by an operator' }),
  terminated: (): ProxyError => ({ status: 403, type: 'session_terminated', code: 'session_terminated', message: 'this session was ended by a policy rule' }),
  noSlot: (): ProxyError => ({ status: 503, type: 'overloaded', code: 'session_table_full', message: 'no room for a new session; retry later', retryAfter: 5 }),
  noUpstream: (): ProxyError => ({ status: 502, type: 'upstream_error', code: 'no_healthy_upstream', message: 'no healthy upstream is available' }),
  upstream: (detail: string): ProxyError => ({ status: 502, type: 'upstream_error', code: 'upstream_error', message: `the upstream failed: ${detail}` }),
  timeout: (detail: string): ProxyError => ({ status: 504, type: 'upstream_timeout', code: 'upstream_timeout', message: `the upstream was too slow: ${detail}` }),
  blocked: (rule: string): ProxyError => ({ status: 403, type: 'policy_violation', code: rule, message: `the request was blocked by policy rule "${rule}"` }),
  unsupportedEncoding: (enc: string): ProxyError => ({ status: 415, type: 'unsupported_encoding', code: 'unsupported_encoding', message: `the request body is in Content-Encoding "${enc.slice(0, 40)}"; the policy reads gzip, deflate and br` }),
  badEncoding: (enc: string): ProxyError => ({ status: 400, type: 'invalid_request', code: 'invalid_encoding', message: `the request body is not valid ${enc}` }),
  duplicateKey: (): ProxyError => ({ status: 400, type: 'invalid_request', code: 'duplicate_key', message: 'the request body names the same key twice in one object; backends disagree on which one counts' }),
  /** an answer in a coding the policy cannot read (never asked for): not passed on (SPEC "What the policy sees") */
  answerEncoding: (enc: string): ProxyError => ({ status: 502, type: 'upstream_error', code: 'unreadable_encoding', message: `the upstream answered in Content-Encoding "${enc.slice(0, 40)}", which the policy cannot read; the answer was not passed on` }),
  answerBadEncoding: (enc: string): ProxyError => ({ status: 502, type: 'upstream_error', code: 'invalid_encoding', message: `the upstream's answer is not valid ${enc}` }),
  answerTooLarge: (limit: number): ProxyError => ({ status: 502, type: 'upstream_error', code: 'response_too_large', message: `the upstream's answer decodes to more than the ${limit}-byte limit (max_body)` }),
  responseBlocked: (rule: string): ProxyError => ({ status: 403, type: 'policy_violation', code: rule, message: `the response was blocked by policy rule "${rule}"` }),
  invalidKey: (why: 'missing' | 'unknown' | 'revoked' | 'malformed'): ProxyError => ({ status: 401, type: 'invalid_api_key', code: 'invalid_api_key', message: KEY_MESSAGES[why] }),
  forbidden: (): ProxyError => ({ status: 403, type: 'forbidden', code: 'forbidden', message: 'this session belongs to another agent' }),
  agentKilled: (): ProxyError => ({ status: 403, type: 'agent_killed', code: 'agent_killed', message: 'this agent was killed by an operator' }),
  budgetExceeded: (scope: string, retryAfter: number): ProxyError => ({ status: 429, type: 'budget_exceeded', code: 'budget_exceeded', message: `the spend budget of ${scope} is used up`, ...(retryAfter > 0 ? { retryAfter } : {}) }),
  rateLimited: (rule: string, retryAfter: number): ProxyError => ({ status: 429, type: 'rate_limited', code: rule, message: `rate limit "${rule}" exceeded`, retryAfter }),
} as const;

/** The refusal of a session whose state ends it (killed by an operator, terminated by a rule). */
export function sessionEnded(state: 'session_killed' | 'session_terminated' | 'agent_killed'): ProxyError {
  return state === 'session_killed' ? ERR.killed() : state === 'agent_killed' ? ERR.agentKilled() : ERR.terminated();
}

export function isProxyError(v: unknown): v is ProxyError {
  return typeof v === 'object' && v !== null && typeof (v as ProxyError).status === 'number' && typeof (v as ProxyError).code === 'string';
}
