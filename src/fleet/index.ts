// Builds the fleet layer from the validated config: Redis when `redis` is set, in-process otherwise.
import type { Config } from '../config/schema.js';
import { LocalFleet } from './local.js';
import type { FleetLogger, FleetState } from './types.js';

export type { FleetState } from './types.js';
export * from './types.js';
export { LocalFleet, LocalHub } from './local.js';

/**
 * The Redis implementation (and the redis client, ~20MiB of RSS) is loaded only in fleet mode:
 * import it from './redis.js' directly where it is needed.
 */
export async function createFleet(config: Pick<Config, 'redis' | 'fleet'>, logger?: FleetLogger): Promise<FleetState> {
  if (config.redis) {
    const { RedisFleet } = await import('./redis.js');
    return new RedisFleet({
      url: config.redis,
      instanceId: config.fleet.instance_id,
      onRedisDown: config.fleet.on_redis_down,
      flushIntervalMs: config.fleet.flush_interval,
      logger,
    });
  }
  return new LocalFleet({ instanceId: config.fleet.instance_id, logger });
}
