// The reloader itself: serialized reloads, nothing changed on a refused file, and old rule sets
// freed once the last stream that began under them ends (100 reloads do not keep 100 engines).
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { validate } from '../../src/config/load.js';
import { Reloader, type Reconfigurable } from '../../src/config/reload.js';
import type { Config } from '../../src/config/schema.js';
import type { ProxyContext } from '../../src/proxy/context.js';
import { policyPart, type PolicyHolder } from '../../src/proxy/reconfigure.js';
import { createPolicyEngine } from '../../src/policy/index.js';
import { PROFILE_BOUNDS } from '../../src/config/profiles.js';
import { createLogger } from '../../src/log.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const log = createLogger('silent');

const cfgWith = (word: string): Config => validate({
  upstreams: [{ url: 'http://127.0.0.1:1' }],
  policy: { preset: 'minimal', rules: [{ name: 'r', target: 'response', literals: [word], action: 'block' }] },
});

describe('Reloader', () => {
  it('runs one reload at a time; callers during one share the next', async () => {
    let active = 0;
    let maxActive = 0;
    let reads = 0;
    const source = {
      async read() {
        active++; reads++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 30));
        active--;
        return { cfg: cfgWith(`w${reads}`), text: `t${reads}` };
      },
    };
    const rl = new Reloader(cfgWith('w0'), 't0', source, log);
    const results = await Promise.all([rl.reload(), rl.reload(), rl.reload(), rl.reload()]);
    expect(maxActive).toBe(1);
    expect(reads).toBe(2); // the running one, then one more for the three that asked meanwhile
    expect(results.every((r) => r.ok)).toBe(true);
    expect(rl.count).toBe(2);
  });

  it('a part that refuses leaves every part unchanged and reports every problem', async () => {
    let swapped = 0;
    const ok: Reconfigurable = { prepare: () => () => { swapped++; } };
    const bad: Reconfigurable = { prepare: () => { throw new ConfigError(['keys[0].agent: is required', 'keys[1].id: duplicate']); } };
    const rl = new Reloader(cfgWith('a'), 'a', { read: async () => ({ cfg: cfgWith('b'), text: 'b' }) }, log);
    rl.register('ok', ok);
    rl.register('bad', bad);
    const r = await rl.reload();
    expect(r).toEqual({ ok: false, problems: ['keys[0].agent: is required', 'keys[1].id: duplicate'] });
    expect(swapped).toBe(0);
    expect(rl.current.policy.rules[0].literals).toEqual(['a']);
    expect(rl.failed).toBe(1);
  });

  it('parts that prepare asynchronously: the swaps wait for every part, then run in one tick', async () => {
    const events: string[] = [];
    const slow: Reconfigurable = {
      prepare: async () => {
        await new Promise((r) => setTimeout(r, 30));
        events.push('slow prepared');
        return () => { events.push('slow swapped'); };
      },
    };
    const quick: Reconfigurable = { prepare: () => { events.push('quick prepared'); return () => { events.push('quick swapped'); }; } };
    const rl = new Reloader(cfgWith('a'), 'a', { read: async () => ({ cfg: cfgWith('b'), text: 'b' }) }, log);
    rl.register('slow', slow);
    rl.register('quick', quick);
    // a turn of the event loop while the slow part prepares: nothing is swapped yet
    const during = new Promise<string[]>((r) => setTimeout(() => r([...events]), 10));
    const r = await rl.reload();
    expect(await during).toEqual([]);
    expect(events).toEqual(['slow prepared', 'quick prepared', 'slow swapped', 'quick swapped']);
    expect(r).toMatchObject({ ok: true, changed: ['slow', 'quick'] });
    expect(r.ok && typeof r.loop_delay_max_ms).toBe('number');
    // a rejected asynchronous prepare refuses the reload like a thrown one
    const failing = new Reloader(cfgWith('a'), 'a', { read: async () => ({ cfg: cfgWith('c'), text: 'c' }) }, log);
    failing.register('quick', quick);
    failing.register('bad', { prepare: async () => { throw new ConfigError(['policy.rules[0].patterns[0]: does not compile']); } });
    events.length = 0;
    expect(await failing.reload()).toEqual({ ok: false, problems: ['policy.rules[0].patterns[0]: does not compile'] });
    expect(events).toEqual(['quick prepared']);
  });

  it('an engine stays while a stream opened on it lives, and is freed after; 100 reloads keep none', async () => {
    let n = 0;
    const first = cfgWith('w0');
    const holder: PolicyHolder = { engine: createPolicyEngine({ preset: 'minimal', rules: first.policy.rules, bounds: PROFILE_BOUNDS.standard, mode: 'enforce' }) };
    const ctx = { policy: holder.engine, fleetRates: [] } as unknown as ProxyContext;
    const rl = new Reloader(first, 't', { read: async () => { n++; return { cfg: cfgWith(`w${n}`), text: `t${n}` }; } }, log);
    rl.register('policy', policyPart(ctx, holder, 'local'));
    // a stream in flight on the first engine
    let inspector = ctx.policy!.openResponse(0, 'text/event-stream', '/v1/chat/completions');
    expect(inspector).not.toBeNull();
    const firstRef = new WeakRef(ctx.policy!);
    const refs: Array<WeakRef<object>> = [];
    const heapBefore = (gc(), process.memoryUsage().heapUsed);
    for (let i = 0; i < 100; i++) {
      const r = await rl.reload();
      expect(r.ok).toBe(true);
      refs.push(new WeakRef(ctx.policy!));
    }
    for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setImmediate(r)); }
    expect(firstRef.deref()).toBeDefined(); // its stream still runs
    expect(refs.slice(0, 99).filter((r) => r.deref() !== undefined)).toHaveLength(0); // no stream: freed
    expect(refs[99].deref()).toBe(ctx.policy);
    // the stream ends: the first engine goes too
    inspector!.end();
    inspector = null;
    for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setImmediate(r)); }
    expect(firstRef.deref()).toBeUndefined();
    const heapAfter = process.memoryUsage().heapUsed;
    expect(heapAfter - heapBefore).toBeLessThan(2 * 1024 * 1024);
  });
});
