// A small client for the control API, used by the ops commands. It takes the URL and token as
// arguments (the CLI reads CORDON_CONTROL_URL / CORDON_CONTROL_TOKEN; nothing here reads env)
// and turns every failure into an OpsError with a one-line message and an exit code.

export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:9090';

export interface ControlEnv {
  /** base URL of the control listener; default http://127.0.0.1:9090 */
  url?: string;
  /** bearer token, when the gateway has CORDON_CONTROL_TOKEN set */
  token?: string;
}

/**
 * Exit codes: 1 = the operation failed (unreachable, not found, server error, bad answer);
 * 2 = fix the invocation or its settings (bad URL, bad ID, token refused).
 */
export type OpsErrorCode = 'unauthorized' | 'unreachable' | 'timeout' | 'not_found' | 'bad_input' | 'server_error' | 'bad_response';

export class OpsError extends Error {
  constructor(readonly code: OpsErrorCode, message: string, readonly exitCode: 1 | 2) {
    super(message);
    this.name = 'OpsError';
  }
}

export const TOKEN_REFUSED = 'control API refused the token (set CORDON_CONTROL_TOKEN)';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export class ControlClient {
  readonly base: URL;
  private readonly token: string | undefined;

  constructor(env: ControlEnv, private readonly fetchImpl: FetchLike = fetch, private readonly timeoutMs = 5_000) {
    const raw = env.url && env.url.trim() !== '' ? env.url.trim() : DEFAULT_CONTROL_URL;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new OpsError('bad_input', `CORDON_CONTROL_URL is not a URL: "${raw}"`, 2);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new OpsError('bad_input', `CORDON_CONTROL_URL must be http:// or https:// (got "${raw}")`, 2);
    }
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.base = u;
    this.token = env.token && env.token !== '' ? env.token : undefined;
    // A newline or a non-Latin-1 character cannot travel in a header: fetch would fail with a bare
    // "network error" (exit 1), when the fix is in the invocation.
    if (this.token !== undefined && /[^\t\x20-\x7e\x80-\xff]/.test(this.token)) {
      throw new OpsError('bad_input', 'CORDON_CONTROL_TOKEN contains a character an HTTP header cannot carry (a newline or control character?)', 2);
    }
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string): Promise<T> {
    return this.request<T>('POST', path);
  }

  private async request<T>(method: string, path: string): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), this.base).toString();
    // a custom header: the control listener's cross-site guard (origin-guard.ts) takes a state change
    // with any body type from a client that sends one, which no cross-site form or no-cors fetch can
    const headers: Record<string, string> = { accept: 'application/json', 'x-cordon-client': 'cli' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.networkError(err);
    }
    let body: unknown;
    const text = await res.text().catch(() => '');
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.status === 401) throw new OpsError('unauthorized', TOKEN_REFUSED, 2);
    if (!res.ok) {
      const msg = errorMessage(body) ?? `HTTP ${res.status}`;
      if (res.status === 404) throw new OpsError('not_found', msg, 1);
      if (res.status === 400) throw new OpsError('bad_input', msg, 2);
      throw new OpsError('server_error', `control API answered ${res.status}: ${msg}`, 1);
    }
    if (body === undefined) throw new OpsError('bad_response', `control API answered ${method} ${path} with something that is not JSON`, 1);
    return body as T;
  }

  private networkError(err: unknown): OpsError {
    const e = err as { name?: string; cause?: { code?: string; message?: string } };
    const where = this.base.origin;
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return new OpsError('timeout', `control API at ${where} did not answer within ${this.timeoutMs / 1000}s`, 1);
    }
    const code = e?.cause?.code;
    if (code === 'ECONNREFUSED') return new OpsError('unreachable', `cannot reach the control API at ${where}: connection refused (is cordon running? set CORDON_CONTROL_URL)`, 1);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new OpsError('unreachable', `cannot reach the control API at ${where}: unknown host (set CORDON_CONTROL_URL)`, 1);
    return new OpsError('unreachable', `cannot reach the control API at ${where}: ${code ?? e?.cause?.message ?? 'network error'}`, 1);
  }
}

function errorMessage(body: unknown): string | undefined {
  const m = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof m === 'string' ? m : undefined;
}
