// The request-target a client sent, as the origin-form path that may go upstream (RFC 9112 §3.2).
// node:http hands over whatever the request line held: `/v1/x`, but also `*` (asterisk-form) and
// `http://host/v1/x` (absolute-form). Passed on as they are, `*` makes undici throw
// UND_ERR_INVALID_ARG, which counted as an upstream failure: three `OPTIONS *` ejected a healthy
// upstream. An absolute-form target would reach the upstream naming another host.

/**
 * `/path?query` for origin-form, the path and query of an http(s) absolute-form target, or null
 * for anything else (asterisk-form, authority-form, another scheme), which is answered 400.
 */
export function originForm(target: string): string | null {
  if (target.charCodeAt(0) === 47 /* / */) return target;
  if (!/^https?:\/\//i.test(target)) return null;
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    return null;
  }
  // pathname + search keep the client's percent-encoding; URL only normalises dot segments.
  return u.pathname + u.search;
}
