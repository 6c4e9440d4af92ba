// The tools part's public surface and its construction from the validated config.
import type { Reconfigurable } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events.js';
import { Approvals, type FleetApprovals } from './approvals.js';
import { ToolGate } from './gate.js';
import { ToolLists } from './lists.js';
import { toolPresetRules } from './presets.js';
import { compileToolRules, isToolRule, type ToolRules } from './rules.js';

export { Approvals, callHash, type Decision, type DecideResult, type FleetApprovals } from './approvals.js';
export { ToolGate, type ToolCaller } from './gate.js';
export { ToolLists } from './lists.js';
export { engineRules, isToolRule, compileToolRules } from './rules.js';
export { toolPresetRules } from './presets.js';

/** Bytes an answer may hold back while a tool call in it is judged or waits (a non-streamed answer whole). */
export const TOOL_HOLD_BYTES = 1024 * 1024;

export interface ToolsOptions {
  bus: EventBus;
  instance?: string;
  excerptBytes: number;
  log?: { warn(obj: object, msg: string): void };
}

export interface Tools {
  gate: ToolGate | null;
  approvals: Approvals;
  /** the reload part (SIGHUP, POST /control/reload): a new gate for a changed policy, swapped by `set` */
  reload(set: (gate: ToolGate | null) => void): Reconfigurable;
  /** denies what is still held and closes the fleet connections */
  close(): Promise<void>;
}

/** Checks what `cordon check-config` and start-up check: globs (schema) and tool rule patterns. */
export function checkToolRules(cfg: Config): ToolRules {
  return compileToolRules(toolPresetRules(cfg.policy.preset), cfg.policy.rules);
}

/** What of a config the tools part reads: a reload that changes none of it leaves the part alone. */
function toolConfigKey(cfg: Config): string {
  const p = cfg.policy;
  return JSON.stringify([p.preset, p.tools, p.approval_timeout, p.max_pending_approvals, p.rules.filter(isToolRule), cfg.mode,
    (cfg as { auth?: unknown }).auth !== undefined]);
}

/** The gate for a config, or null when no list or tool rule applies (then the proxy pays nothing). */
function buildGate(cfg: Config, approvals: Approvals, excerptBytes: number): ToolGate | null {
  const rules = checkToolRules(cfg);
  const lists = ToolLists.compile(cfg.policy.tools, 'policy.tools');
  // API keys may carry their own tool lists (made at run time too): with keys configured the gate
  // is always there to apply them.
  const keys = (cfg as { auth?: unknown }).auth !== undefined;
  const any = keys || lists !== null || rules.hold.length > 0 || rules.descriptions.length > 0 || rules.loops.length > 0;
  return any ? new ToolGate({ lists, rules, approvals, mode: cfg.mode, excerptBytes, holdBytes: TOOL_HOLD_BYTES }) : null;
}

/**
 * Builds the approvals registry (always: the control API lists it even when empty), its Redis
 * port in fleet mode, and the gate.
 */
export async function createTools(cfg: Config, opts: ToolsOptions): Promise<Tools> {
  const excerptBytes = opts.excerptBytes;
  let fleet: (FleetApprovals & { start(ids: () => string[]): Promise<void> }) | null = null;
  if (cfg.redis) {
    const { RedisApprovals } = await import('./approvals-redis.js');
    fleet = new RedisApprovals({ url: cfg.redis, log: opts.log });
  }
  const approvals = new Approvals({
    timeoutMs: cfg.policy.approval_timeout,
    maxPerSession: cfg.policy.max_pending_approvals,
    maxTotal: 10_000,
    fleet,
    instance: opts.instance,
    onEvent: (ev) => opts.bus.publish(ev),
  });
  const gate = buildGate(cfg, approvals, excerptBytes);
  if (fleet !== null) await fleet.start(() => approvals.localIds());
  return {
    gate,
    approvals,
    reload: (set) => ({
      prepare(next, prev) {
        if (toolConfigKey(next) === toolConfigKey(prev)) return null;
        // compiled here: a bad glob or pattern refuses the reload; pending holds stay where they are
        const g = buildGate(next, approvals, excerptBytes);
        return () => {
          approvals.configure(next.policy.approval_timeout, next.policy.max_pending_approvals);
          set(g);
        };
      },
    }),
    close: async () => {
      approvals.close();
      await fleet?.close();
    },
  };
}
