// An http(s) URL in the config; anything else is a `path: message` problem.
import { z } from 'zod';

export const httpUrl = z.string().transform((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a URL (got "${v}")` });
    return z.NEVER;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must be http:// or https:// (got "${u.protocol}")` });
    return z.NEVER;
  }
  return u;
});
