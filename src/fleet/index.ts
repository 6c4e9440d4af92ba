// Builds the fleet layer from the validated config: Redis when `redis` is set, in-process otherwise.
import type { Config } from '../config/schema.js';
import { LocalFleet } from './local.js';
import { RedisFleet } from './redis.js';
import type { FleetLogger, FleetState } from './types.js';

export type { FleetState } from './types.js';
export * from './types.js';
export { LocalFleet, LocalHub } from './local.js';
export { RedisFleet } from './redis.js';

export function createFleet(config: Pick<Config, 'redis' | 'fleet'>, logger?: FleetLogger): FleetState {
  if (config.redis) {
    return new RedisFleet({
      url: config.redis,
      instanceId: config.fleet.instance_id,
      onRedisDown: config.fleet.on_redis_down,
      logger,
    });
  }
  return new LocalFleet({ instanceId: config.fleet.instance_id, logger });
}
