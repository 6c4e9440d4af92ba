// A tiny method + path router for the control listener. Routes are registered by the part that owns
// them (sessions, storage, memory, ...) so that the control server itself knows no part's internals.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './reply.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** named path parameters, URL-decoded: `/control/sessions/:id` → { id } */
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): this {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  get(pattern: string, handler: RouteHandler): this { return this.add('GET', pattern, handler); }
  post(pattern: string, handler: RouteHandler): this { return this.add('POST', pattern, handler); }

  /** Answers the request; 404 for an unknown path, 405 (with Allow) for a known path and wrong method. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, path = url.pathname): Promise<void> {
    let parts: string[];
    try {
      parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      sendError(res, 400, 'invalid_request', 'bad_path', 'the path is not valid percent-encoding');
      return;
    }
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = match(route.segments, parts);
      if (!params) continue;
      if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) {
        // Two parts may register the same route (the fleet's kill before the table's): name it once.
        if (!allowed.includes(route.method)) allowed.push(route.method);
        continue;
      }
      await route.handler({ req, res, params, query: url.searchParams });
      return;
    }
    if (allowed.length > 0) {
      sendError(res, 405, 'invalid_request', 'method_not_allowed', `${req.method} is not allowed here; use ${allowed.join(', ')}`, { allow: allowed.join(', ') });
    } else {
      sendError(res, 404, 'not_found', 'not_found', `no such endpoint: ${path}`);
    }
  }
}

function match(segments: string[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s.startsWith(':')) params[s.slice(1)] = parts[i];
    else if (s !== parts[i]) return null;
  }
  return params;
}
