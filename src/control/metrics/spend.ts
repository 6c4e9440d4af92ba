// Tokens and dollars on /metrics, by agent and by model, read from the spend part at scrape time.
// Labels stay bounded: models are capped where they are numbered (spend/service.ts: the first 31,
// then `other`), and agents here: the TOP_AGENTS that spent most by name, the rest as `other`.
import { Counter, type Registry } from 'prom-client';
import type { Spend } from '../../spend/service.js';

const TOP_AGENTS = 50;

interface Row { agent: string; model: string; tokensIn: number; tokensOut: number; usd: number }

function rows(spend: Spend): Row[] {
  const raw: Row[] = [];
  for (const [k, v] of spend.byAgentModel) {
    const agent = Math.floor(k / 64);
    raw.push({ agent: agent === 0 ? 'none' : (spend.agents.names.name(agent) ?? 'other'), model: spend.modelLabel(k % 64), ...v });
  }
  // the agents that spent most keep their name
  const byAgent = new Map<string, number>();
  for (const r of raw) byAgent.set(r.agent, (byAgent.get(r.agent) ?? 0) + r.usd + (r.tokensIn + r.tokensOut) * 1e-12);
  const top = new Set([...byAgent.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP_AGENTS).map(([a]) => a));
  const merged = new Map<string, Row>();
  for (const r of raw) {
    const agent = top.has(r.agent) ? r.agent : 'other';
    const key = `${agent}\u0000${r.model}`;
    const m = merged.get(key);
    if (m === undefined) merged.set(key, { ...r, agent });
    else { m.tokensIn += r.tokensIn; m.tokensOut += r.tokensOut; m.usd += r.usd; }
  }
  return [...merged.values()];
}

export function registerSpendMetrics(registry: Registry, spend: Spend): void {
  new Counter({
    name: 'cordon_tokens_total',
    help: 'tokens by agent, model and direction (in: prompt incl. cache; out: completion), from upstream usage or the tokenizer',
    labelNames: ['agent', 'model', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of rows(spend)) {
        if (r.tokensIn > 0) this.inc({ agent: r.agent, model: r.model, direction: 'in' }, r.tokensIn);
        if (r.tokensOut > 0) this.inc({ agent: r.agent, model: r.model, direction: 'out' }, r.tokensOut);
      }
    },
  });
  new Counter({
    name: 'cordon_cost_usd_total',
    help: 'USD spent by agent and model (dated built-in prices plus the pricing config)',
    labelNames: ['agent', 'model'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of rows(spend)) if (r.usd > 0) this.inc({ agent: r.agent, model: r.model }, r.usd);
    },
  });
}
