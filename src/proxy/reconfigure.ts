// The proxy's parts of a config reload (src/config/reload.ts): the policy engine, the upstream
// pool, the retry rules and the config the phases read. Each prepares off the request path and
// swaps one reference. An exchange takes the policy engine once, when its request phase begins
// (exchange.ts), and its response inspector holds that engine: a stream in flight keeps the rules
// it began with, and an old engine is garbage once its last stream ends.
import { PROFILE_BOUNDS } from '../config/profiles.js';
import type { Reconfigurable } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import { createPolicyEngineSliced } from '../policy/index.js';
import type { PolicyEngine } from '../policy/types.js';
import type { ProxyContext } from './context.js';
import { RetryRules } from './retry.js';
import { engineRules } from '../tools/rules.js';
import { exposeGc, mallocTrim } from '../memory/index.js';

/**
 * A replaced engine's compiled patterns are mostly native (RE2) memory that V8 does not see, so
 * its heuristics may leave unreachable engines uncollected for many reloads (measured: RSS +175MiB
 * over 100 quick reloads of the standard preset, flat heap). Once reloads settle, one full
 * collection frees every engine no stream holds, and malloc_trim returns the pages.
 */
const RELEASE_AFTER_MS = 1_000;
let releaseTimer: NodeJS.Timeout | null = null;
function releaseOldEngines(): void {
  if (releaseTimer !== null) clearTimeout(releaseTimer);
  releaseTimer = setTimeout(() => {
    releaseTimer = null;
    exposeGc()?.();
    mallocTrim()?.();
  }, RELEASE_AFTER_MS);
  releaseTimer.unref();
}

/** The engine in force, for the parts that read it outside a request (/control/policy, memory). */
export interface PolicyHolder { engine: PolicyEngine & { compiledBytes(): number } }

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function policyPart(ctx: ProxyContext, holder: PolicyHolder, fleetMode: 'local' | 'redis'): Reconfigurable {
  return {
    async prepare(next, prev) {
      if (same(next.policy, prev.policy) && next.mode === prev.mode && next.profile === prev.profile) return null;
      // Compiles here, in slices that give the event loop back (a bad pattern is a ConfigError
      // naming it); per-session metric counts start again under the new engine.
      // the tools part's own rules (hold, tool_description, repeated_tool_call) are not the engine's
      const engine = await createPolicyEngineSliced({ preset: next.policy.preset, rules: engineRules(next.policy.rules).filter((r) => r.metric !== 'cost_usd'), bounds: PROFILE_BOUNDS[next.profile], mode: next.mode, judge: next.policy.judge });
      const rates = fleetMode === 'redis' ? engine.windowedRequestRules() : [];
      return () => {
        holder.engine = engine;
        ctx.policy = engine.hasRequestRules || engine.hasResponseRules ? engine : null;
        ctx.fleetRates = rates;
        releaseOldEngines();
      };
    },
  };
}

export function upstreamsPart(ctx: ProxyContext, onNames: (names: readonly string[]) => void): Reconfigurable {
  return {
    prepare(next, prev) {
      if (same(next.upstreams, prev.upstreams) && next.balance === prev.balance) return null;
      return () => {
        ctx.upstreams.reconfigure(next);
        onNames(ctx.upstreams.names);
      };
    },
  };
}

export function retryPart(ctx: ProxyContext): Reconfigurable {
  return {
    prepare(next, prev) {
      if (same(next.retry, prev.retry) && next.timeouts.headers === prev.timeouts.headers) return null;
      const rules = new RetryRules(next);
      return () => { ctx.ops.retry = rules; };
    },
  };
}

/** The config the phases read (max_body, mode, timeouts): last, so every other part swapped first. */
export function configPart(ctx: ProxyContext): Reconfigurable {
  return {
    prepare(next: Config, prev: Config) {
      if (same(next, prev)) return null;
      return () => { ctx.cfg = next; };
    },
  };
}
