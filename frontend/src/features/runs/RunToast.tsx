import { Link } from 'react-router';
import { useRun } from '../../api/queries';
import { useOnline } from '../../api/status';
import { isFinalStatus, type Run } from '../../api/types';
import { StatusBadge } from '../../components/StatusBadge';
import { runTarget } from '../../lib/format';

function sentence(run: Run): string {
  switch (run.status) {
    case 'queued':
      return run.queue_position != null ? `is queued in ${runTarget(run)} (#${run.queue_position} in line)` : 'is queued';
    case 'running':
      return `is running in ${runTarget(run)}`;
    case 'success':
      return 'passed';
    case 'failed':
      return 'failed';
    case 'error':
      return 'ended with an error';
    case 'cancelled':
      return 'was cancelled';
  }
}

/**
 * "Run #12 is queued" that follows the run it announces until it ends: the
 * text changes only when the status does, so screen readers hear each change once.
 */
export function RunToast({ run: created, onDismiss }: { run: Run; onDismiss: () => void }) {
  const query = useRun(created.id);
  const online = useOnline();
  const run = query.data ?? created;
  const final = isFinalStatus(run.status);
  return (
    <div className={`toast toast--${run.status}`} data-testid="run-toast" data-run-id={run.id} data-status={run.status}>
      <p className="toast__text" role="status">
        Run <Link to={`/runs/${run.id}`}>#{run.id}</Link> {sentence(run)}.
      </p>
      <StatusBadge run={run} now={query.dataUpdatedAt} stale={!online && !final} />
      <button type="button" className="toast__dismiss" aria-label={`Dismiss the note about run #${run.id}`} onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
