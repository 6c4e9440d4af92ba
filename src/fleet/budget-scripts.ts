// The Lua scripts of fleet-wide budgets (redis-budgets.ts). Each runs atomically in Redis on
// Redis's clock, so every instance sees the same window and the same total.
//
// A window's hash `b:<scope>:<window start ms>` holds `s` (spent: USD or tokens) and `r:<run>` (requests
// of one process run in flight). `bx:<class>` is the largest single charge seen for a budget class
// (a key, a team, a session rule), `bx:*<unit>` the largest for any class; `live:<run>` says a run is
// alive, so the places held by a run that died are given back.
import { createHash } from 'node:crypto';
import type { Script } from './scripts.js';

function script(name: string, source: string): Script {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Admits a request under every budget that applies, or none. ARGV = prefix, run, then one string per
 * budget: "<limit> <window ms> <unit> <class> <scope>".
 * Admitted while spent + (requests in flight) × (largest charge seen) < limit: if no request costs more
 * than the largest seen before it, the budget is overspent by at most one request fleet-wide. Before any
 * charge was seen (no largest), each run has at most one request in flight per budget: at most one
 * request per instance over.
 * Returns {0, window start per budget} (a place is held in each), {1, budget index, ms to window end}
 * (spent), or {2, budget index, ms to window end} (what is in flight may spend the rest: wait).
 */
export const BUDGET_ADMIT = script('budget_admit', `
local p = ARGV[1]
local me = 'r:' .. ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keys, windows, out = {}, {}, {0}
for n = 3, #ARGV do
  local limit, window, unit, cls, scope = string.match(ARGV[n], '^(%S+) (%S+) (%S+) (%S+) (.+)$')
  limit = tonumber(limit)
  window = tonumber(window)
  local ws = now - (now % window)
  local k = p .. 'b:' .. scope .. ':' .. string.format('%.0f', ws)
  local h = redis.call('HGETALL', k)
  local spent, inflight, mine = 0, 0, 0
  for i = 1, #h, 2 do
    local f, v = h[i], tonumber(h[i + 1])
    if f == 's' then
      spent = v
    elseif f == me then
      mine = v
      inflight = inflight + v
    elseif redis.call('EXISTS', p .. 'live:' .. string.sub(f, 3)) == 1 then
      inflight = inflight + v
    else
      redis.call('HDEL', k, f)
    end
  end
  local left = ws + window - now
  if spent >= limit then return {1, n - 3, left} end
  local m = tonumber(redis.call('GET', p .. 'bx:' .. cls) or redis.call('GET', p .. 'bx:*' .. unit) or '0')
  if m > 0 then
    if spent + inflight * m >= limit then return {2, n - 3, left} end
  elseif mine > 0 then
    return {2, n - 3, left}
  end
  keys[#keys + 1] = k
  windows[#windows + 1] = ws + window
  out[#out + 1] = ws
end
for i, k in ipairs(keys) do
  redis.call('HINCRBY', k, me, 1)
  redis.call('PEXPIREAT', k, string.format('%.0f', windows[i] + 60000))
end
return out
`);

/**
 * A request's answer ended: gives back its places and adds what it cost to the current window.
 * ARGV = prefix, run, then one string per budget: "<window start at admission, or -1> <window ms>
 * <amount> <unit> <class> <scope>".
 */
export const BUDGET_SETTLE = script('budget_settle', `
local p = ARGV[1]
local me = 'r:' .. ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for n = 3, #ARGV do
  local wa, window, amount, unit, cls, scope = string.match(ARGV[n], '^(%S+) (%S+) (%S+) (%S+) (%S+) (.+)$')
  window = tonumber(window)
  if wa ~= '-1' then
    local ka = p .. 'b:' .. scope .. ':' .. wa
    if redis.call('HEXISTS', ka, me) == 1 and redis.call('HINCRBY', ka, me, -1) <= 0 then redis.call('HDEL', ka, me) end
  end
  local a = tonumber(amount)
  if a > 0 then
    local ws = now - (now % window)
    local k = p .. 'b:' .. scope .. ':' .. string.format('%.0f', ws)
    redis.call('HINCRBYFLOAT', k, 's', amount)
    redis.call('PEXPIREAT', k, string.format('%.0f', ws + window + 60000))
    for _, bx in ipairs({ p .. 'bx:' .. cls, p .. 'bx:*' .. unit }) do
      if a > tonumber(redis.call('GET', bx) or '0') then redis.call('SET', bx, amount, 'PX', 2592000000) end
    end
  end
end
return 1
`);
