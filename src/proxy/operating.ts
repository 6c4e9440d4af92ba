// The proxy's hooks for operating it (SPEC.md "Operating it"): retry rules and tracing, replaced
// as a whole on a config reload, and the counter of retries by reason.
import type { Tracing } from '../telemetry/types.js';
import type { RetryRules } from './retry.js';

export interface OperatingHooks {
  /** replaced by a reload */
  retry: RetryRules;
  /** null when `telemetry` is not configured */
  tracing: Tracing | null;
  /** one abandoned attempt, by reason (`429`, `502`, …, `connect`) */
  onRetry(reason: string): void;
}
