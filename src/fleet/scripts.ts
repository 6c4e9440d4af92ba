// The Lua scripts RedisFleet runs. Each one is atomic in Redis, so counters and kill versions are
// never read, changed in Node and written back (no lost updates between instances).
// Keys are passed in KEYS so that the scripts stay correct if the keys are ever given hash tags.
import { createHash } from 'node:crypto';

export interface Script {
  name: string;
  source: string;
  sha: string;
}

function script(name: string, source: string): Script {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Applies one batch of counter deltas, at most once.
 * KEYS[1] = this process's ack key. ARGV = seq, holder (instance index), session key prefix, then one
 * packed string per session: "<requests> <bytes_in> <bytes_out> <tokens> <last seen s> <id>" (an ID
 * has no spaces). Packing and building the keys here keeps the Node side to one string per session:
 * encoding six arguments per session cost more CPU in the gateway than the rest of the fleet layer.
 * (Keys built in a script are fine on one Redis; this layout is not meant for Redis Cluster.)
 * A batch whose seq is not above the last applied one was applied before its reply was lost: skip it,
 * so that resending after a dropped connection never counts twice.
 * Session hash fields: r i o t (counters), l (last seen, epoch s), h (index of the instance that served
 * it last), and @<index> for each instance that served it, written only once a second instance does
 * (most sessions stay on one instance; the field costs ~16B). No per-key TTL: an expire costs ~50B
 * per key in Redis, more than the rest of the hash; SWEEP deletes stale sessions instead.
 */
export const FLUSH = script('flush', `
local seq = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', 86400000)
local h = ARGV[2]
local prefix = ARGV[3]
for n = 4, #ARGV do
  local r, i, o, t, l, id = string.match(ARGV[n], '^(%S+) (%S+) (%S+) (%S+) (%S+) (.+)$')
  local k = prefix .. id
  if r ~= '0' then redis.call('HINCRBY', k, 'r', r) end
  if i ~= '0' then redis.call('HINCRBY', k, 'i', i) end
  if o ~= '0' then redis.call('HINCRBY', k, 'o', o) end
  if t ~= '0' then redis.call('HINCRBY', k, 't', t) end
  local got = redis.call('HMGET', k, 'l', 'h')
  if tonumber(l) > tonumber(got[1] or '0') then redis.call('HSET', k, 'l', l) end
  if got[2] ~= h then
    if got[2] then redis.call('HSET', k, '@' .. got[2], '', '@' .. h, '') end
    redis.call('HSET', k, 'h', h)
  end
end
return 1
`);

/**
 * One bounded step of deleting session hashes whose last-seen second is before the cutoff, with the
 * SCAN done here so the gateway does not move the keys back and forth.
 * ARGV = scan cursor, match pattern, count, cutoff (epoch s). Returns {next cursor, deleted}.
 */
export const SWEEP = script('sweep', `
local res = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local cutoff = tonumber(ARGV[4])
local n = 0
for _, k in ipairs(res[2]) do
  local l = redis.call('HGET', k, 'l')
  if l and tonumber(l) < cutoff then
    redis.call('DEL', k)
    n = n + 1
  end
end
return { res[1], n }
`);

/**
 * Sets or clears a kill, bumps the global kill version and publishes the change.
 * KEYS[1] = kill hash (id -> "<version>:<k|t>"), KEYS[2] = version counter, KEYS[3] = resume hash
 * (id -> epoch ms of its last resume, on Redis's clock; cleared by a later kill). The resume hash lets an
 * instance that restarts with a kill in its own storage tell "resumed since" from "never stored".
 * ARGV = id, state (k = killed, t = terminated, a = active), channel, nx ('1': only if no kill is stored).
 * Message: "<version>:<state>:<id>"; an ID may itself contain ':', so the ID is everything after the second ':'.
 */
export const KILL = script('kill', `
if ARGV[4] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local v = redis.call('INCR', KEYS[2])
if ARGV[2] == 'a' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[3], ARGV[1], string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
else
  redis.call('HSET', KEYS[1], ARGV[1], v .. ':' .. ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[1])
end
redis.call('PUBLISH', ARGV[3], v .. ':' .. ARGV[2] .. ':' .. ARGV[1])
return v
`);

/** The whole kill state and the version it is at, read in one atomic step. KEYS as for KILL. */
export const KILL_SNAPSHOT = script('kill_snapshot', `
return { redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[1]) }
`);

/**
 * GCRA rate limit with Redis's clock, so instances with skewed clocks still agree.
 * KEYS[1] = the TAT key; ARGV = limit, window ms, cost. Returns {allowed 0|1, retry after ms}.
 * Same arithmetic as gcra.ts.
 */
export const RATE = script('rate', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + cost * (window / limit)
local excess = nxt - now - window
if excess > 0.000001 then
  local r = math.ceil(excess)
  if r < 1 then r = 1 end
  return {0, r}
end
redis.call('SET', KEYS[1], string.format('%.17g', nxt), 'PX', math.ceil(nxt - now) + 1)
return {1, 0}
`);

/**
 * Marks the data set with an epoch on first contact and returns it. An instance that sees a
 * different epoch than before knows Redis lost its data (restart without persistence).
 * KEYS[1] = epoch key; ARGV[1] = a fresh candidate.
 */
export const EPOCH = script('epoch', `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`);

/** Gives an instance id a small stable index (for the compact session hash). KEYS[1] = index hash, KEYS[2] = counter. */
export const INSTANCE_INDEX = script('instance_index', `
local idx = redis.call('HGET', KEYS[1], ARGV[1])
if idx then return tonumber(idx) end
idx = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], idx, '#' .. idx, ARGV[1])
return idx
`);

export const ALL_SCRIPTS = [FLUSH, SWEEP, KILL, KILL_SNAPSHOT, RATE, EPOCH, INSTANCE_INDEX];
