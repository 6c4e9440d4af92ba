// Passive upstream health after Envoy's outlier detection, so that one client cannot take the pool
// out of service for everyone:
// - Only gateway failures count: a connection that failed or was reset, a timeout, a 502/503/504.
//   A 500 (or any other answer) is the upstream working: it answers, and it resets the streak.
// - Attribution: a streak of answered failures (5xx of the three kinds, a timeout, a reset) ejects
//   only when it spans two sessions or more; one session's requests can fail on their own (a prompt
//   that makes the backend 503) without ejecting anything. Connect failures never reached the
//   backend and count for everyone.
// - Never the last one: an upstream is not ejected while it is the only one left in rotation, and
//   with every upstream out the pool routes to all (UpstreamSet.pick, Envoy's panic threshold).
// - Successive ejections back off: cool-off × times ejected, capped (Envoy's base and max ejection
//   time); the count decays by one for each cool-off period spent in rotation since.
import type { Logger } from '../log.js';

/** The per-upstream fields this module owns (they live on Upstream to keep one object per backend). */
export interface OutlierFields {
  readonly name: string;
  /** failures in the current streak */
  failures: number;
  /** connect-level failures in the current streak: the backend was not reached (readiness) */
  hardFailures: number;
  /** epoch ms until which the upstream is out of rotation; 0 when in */
  ejectedUntil: number;
  /** times ejected, decaying while healthy: the backoff multiplier */
  ejections: number;
  lastEjectedAt: number;
  /** the session hash of the streak's first attributed failure; -1 when none */
  streakSession: number;
  /** the streak spans two sessions, or holds a connect failure */
  streakShared: boolean;
}

export const NO_SESSION = -1;

/** 502, 503 and 504 say the upstream (or what stands behind it) failed; other answers do not. */
export function isGatewayFailure(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

export class OutlierDetector {
  constructor(
    private readonly ejectAfter: number,
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Counts one failure. `session` is the failing request's session hash, or NO_SESSION for a
   * failure that is the upstream's whatever the request (a refused or timed-out connect).
   */
  failed(u: OutlierFields, all: readonly OutlierFields[], now: number, reason: string, session: number): void {
    if (u.ejectedUntil !== 0) {
      if (u.ejectedUntil > now) return; // already out: requests sent before the ejection finishing
      this.readmit(u); // back from its cool-off: a fresh streak, not one failure away from ejection
    }
    u.failures++;
    if (session === NO_SESSION) {
      u.hardFailures++;
      u.streakShared = true;
    } else if (u.streakSession === NO_SESSION) {
      u.streakSession = session;
    } else if (u.streakSession !== session) {
      u.streakShared = true;
    }
    if (u.failures < this.ejectAfter || !u.streakShared) return;
    if (!anotherInRotation(u, all, now)) return; // never the last one
    u.ejections++;
    u.lastEjectedAt = now;
    const ms = Math.min(this.baseMs * u.ejections, this.maxMs);
    u.ejectedUntil = now + ms;
    this.log.warn({ upstream: u.name, failures: u.failures, reason, ejected_ms: ms, ejections: u.ejections }, 'upstream ejected after consecutive failures');
  }

  /** An answer that is not a gateway failure: the streak ends. Cheap when there is nothing to reset. */
  succeeded(u: OutlierFields, now: number): void {
    if (u.failures === 0 && u.ejectedUntil === 0 && u.ejections === 0) return;
    if (u.ejectedUntil !== 0) {
      if (u.ejectedUntil > now) return; // a request sent before the ejection: it stays out its time
      this.readmit(u);
    }
    u.failures = 0;
    u.hardFailures = 0;
    u.streakSession = NO_SESSION;
    u.streakShared = false;
    if (u.ejections > 0 && now - u.lastEjectedAt >= this.baseMs * (u.ejections + 1)) {
      u.ejections--;
      u.lastEjectedAt = now;
    }
  }

  private readmit(u: OutlierFields): void {
    u.ejectedUntil = 0;
    u.failures = 0;
    u.hardFailures = 0;
    u.streakSession = NO_SESSION;
    u.streakShared = false;
    this.log.info({ upstream: u.name }, 'upstream back in rotation');
  }
}

function anotherInRotation(u: OutlierFields, all: readonly OutlierFields[], now: number): boolean {
  for (const o of all) if (o !== u && o.ejectedUntil <= now) return true;
  return false;
}
