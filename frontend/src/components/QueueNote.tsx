import { Link } from 'react-router';
import type { Run } from '../api/types';
import { environmentName, formatHoldUntil } from '../lib/format';
import { etaText } from '../lib/queue';

type Wait = NonNullable<Run['waiting_for']>;

/** What a queued run waits for, as a sentence without its full stop (with a link to the run it waits behind). */
export function WaitReason({ wait, now }: { wait: Wait; now: number }) {
  switch (wait.kind) {
    case 'run':
      return wait.run_id != null ? (
        <>
          Waits behind run <Link to={`/runs/${wait.run_id}`}>#{wait.run_id}</Link>
        </>
      ) : (
        <>Waits behind another run</>
      );
    case 'hold':
      return (
        <>
          Waits: {wait.environment_id != null ? environmentName(wait.environment_id) : 'its environment'} is held
          {wait.held_by ? ` by ${wait.held_by}` : ''} {formatHoldUntil(wait.until, now)}
        </>
      );
    case 'capacity':
      return <>Waits for a free worker slot</>;
    case 'pool':
      return <>Waits: every {wait.pool ?? 'pool'} environment is busy or held</>;
    default:
      return <>Waits for its turn</>;
  }
}

/**
 * A queued run's "waits behind #12 · starts in about 2 min" (nothing for other runs).
 * Polled every second, so it is plain text, never a live region.
 */
export function QueueNote({ run, now }: { run: Run; now: number }) {
  if (run.status !== 'queued' || !run.waiting_for) return null;
  return (
    <span className="queue-note" data-wait-kind={run.waiting_for.kind}>
      <WaitReason wait={run.waiting_for} now={now} /> · {etaText(run)}
    </span>
  );
}
