// Reconnect delays: exponential from min to max, each spread by a random jitter so that a fleet of daemons (or
// one daemon's restarts) does not hammer a recovering broker in step. mqtt.js only offers a fixed period.

export interface BackoffOptions {
  /** First delay (ms); doubles after each failed attempt. */
  readonly minDelayMs: number;
  /** Upper bound of the delay before jitter (ms). */
  readonly maxDelayMs: number;
  /** Spread as a fraction: 0.2 = the delay is drawn uniformly from [0.8, 1.2] x the nominal one. */
  readonly jitter: number;
}

/** Delay before reconnect attempt `attempt` (0-based); `random` returns [0, 1). */
export function backoffDelayMs(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const nominal = Math.min(o.maxDelayMs, o.minDelayMs * 2 ** Math.min(attempt, 52));
  const spread = nominal * o.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(nominal + spread));
}
