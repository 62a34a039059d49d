import type { Run } from '../api/types';
import { elapsedSince, formatElapsed } from '../lib/format';

interface StatusBadgeProps {
  run: Pick<Run, 'status' | 'queue_position' | 'started_at'> & Partial<Pick<Run, 'cancelled_by' | 'pool' | 'environment_id'>>;
  /** Epoch ms used for the running clock: the time of the latest poll, so it ticks with polling. */
  now: number;
  /** The API is not answering: this is the last known status, so no clock and no pulse. */
  stale?: boolean;
}

/** A coloured status pill: "queued #2", "running 12s", "success", … */
export function StatusBadge({ run, now, stale = false }: StatusBadgeProps) {
  let text: string = run.status;
  let detail: string | undefined;
  if (run.status === 'queued' && run.queue_position != null) {
    text = `queued #${run.queue_position}`;
    const line = run.pool && run.environment_id == null ? `the ${run.pool} pool` : 'its environment';
    detail = run.queue_position === 1 ? `Next to start in ${line}` : `Position ${run.queue_position} in the line for ${line}`;
  } else if (run.status === 'cancelled' && run.cancelled_by) {
    detail = `Cancelled by ${run.cancelled_by}`;
  } else if (run.status === 'running' && stale) {
    detail = 'Last known status: the Baton API is not answering';
  } else if (run.status === 'running') {
    const elapsed = elapsedSince(run.started_at, now);
    if (elapsed !== null) {
      text = `running ${formatElapsed(elapsed)}`;
      detail = 'Elapsed time since the run started';
    }
  }
  return (
    <span className={`badge badge--${run.status}${stale ? ' badge--stale' : ''}`} data-status={run.status} title={detail}>
      <span className="badge__dot" aria-hidden="true" />
      {text}
    </span>
  );
}
