import type { EnvironmentUsage } from '../../api/types';

/** Busy at least this share of the time… */
export const CONTENDED_BUSY = 0.6;
/** …and the 95th percentile run waits at least this long: more environments would help. */
export const CONTENDED_WAIT_MS = 60_000;

/** Whether more environments would help there: busy most of the time and runs wait. */
export function contended(e: EnvironmentUsage): boolean {
  return e.busy_share >= CONTENDED_BUSY && (e.queue_wait_p95_ms ?? 0) >= CONTENDED_WAIT_MS;
}
