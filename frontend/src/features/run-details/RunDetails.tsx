import { Link } from 'react-router';
import { ApiError, describeApiError } from '../../api/errors';
import { useRun } from '../../api/queries';
import { isFinalStatus, type Run } from '../../api/types';
import { ProgressMeter, SummaryText } from '../../components/RunOutcome';
import { StatusBadge } from '../../components/StatusBadge';
import { ErrorState, LoadingState, Spinner } from '../../components/States';
import {
  elapsedSince,
  environmentName,
  formatBytes,
  formatDuration,
  formatElapsed,
  formatFullTimestamp,
} from '../../lib/format';
import { LogViewer } from './LogViewer';
import { RunActions } from './RunActions';
import { TestResults } from './TestResults';
import { useLogTail } from './useLogTail';

const REASONS: Record<string, string> = {
  tests_failed: 'Some tests failed',
  no_tests_collected: 'No tests were collected',
  interrupted: 'The run was interrupted',
  pytest_internal_error: 'pytest hit an internal error',
  usage_error: 'pytest was called with a usage error',
  killed_by_signal: 'The test process was killed by a signal',
  timeout: 'The run timed out',
  start_failed: 'The run could not be started',
  worker_lost: 'The worker running it was lost',
  worker_shutdown: 'The worker shut down during the run',
  cancelled_by_user: 'Cancelled by a user',
};

function durationOf(run: Run, now: number): string {
  if (run.duration_ms != null) return formatDuration(run.duration_ms);
  if (run.status === 'running') {
    const elapsed = elapsedSince(run.started_at, now);
    return elapsed === null ? '—' : `${formatElapsed(elapsed)} so far`;
  }
  return '—';
}

function Timestamp({ iso }: { iso: string | null }) {
  return iso ? <time dateTime={iso}>{formatFullTimestamp(iso)}</time> : <span className="muted">—</span>;
}

function RunLog({ runId, run }: { runId: number; run: Run }) {
  const { tail, isPending, error } = useLogTail(runId, { runEnded: isFinalStatus(run.status) });
  const size = tail.nextOffset;
  let placeholder = 'No output yet.';
  if (isPending) placeholder = 'Loading log…';
  else if (run.status === 'queued') placeholder = 'Waiting for the environment: the log starts when the run does.';
  else if (tail.complete) placeholder = 'This run produced no output.';
  return (
    <section className="card" aria-labelledby="run-log-title">
      <header className="card__header">
        <h2 className="card__title" id="run-log-title">
          Log
        </h2>
        <div className="card__actions log-meta">
          {error && !tail.pieces.length ? (
            <span className="text-error">Could not load the log: {describeApiError(error, { failed: 'Could not load the log' }).message}</span>
          ) : tail.complete ? (
            <span className="muted">Complete · {formatBytes(size)}</span>
          ) : (
            <span className="muted">
              <Spinner label={`Live · ${formatBytes(size)}`} />
            </span>
          )}
        </div>
      </header>
      <LogViewer pieces={tail.pieces} complete={tail.complete} placeholder={placeholder} />
    </section>
  );
}

/** Everything about one run, polled until it is final, and its log tailed live. */
export function RunDetails({ runId }: { runId: number }) {
  const query = useRun(runId);
  const run = query.data;

  if (!Number.isSafeInteger(runId) || runId <= 0) {
    return <ErrorState title="Not a run" message="Run ids are positive whole numbers." />;
  }
  if (query.isPending) return <LoadingState label={`Loading run #${runId}…`} />;
  if (!run) {
    const notFound = query.error instanceof ApiError && query.error.status === 404;
    return (
      <ErrorState
        title={notFound ? `Run #${runId} does not exist` : `Could not load run #${runId}`}
        message={notFound ? 'Check the link, or pick a run from the list.' : undefined}
        error={query.error}
      />
    );
  }

  const now = query.dataUpdatedAt;
  const reason = run.reason ? (REASONS[run.reason] ?? run.reason) : null;

  return (
    <>
      <div className="page-title page-title--split">
        <h1>
          Run #{run.id} <StatusBadge run={run} now={now} />
          {!isFinalStatus(run.status) && <span className="live-dot" title="Updating live" aria-hidden="true" />}
        </h1>
        <RunActions run={run} />
      </div>
      <section className="card" aria-label="Run summary">
        <dl className="details">
          <div>
            <dt>Username</dt>
            <dd data-field="requested_by">{run.requested_by}</dd>
          </div>
          <div>
            <dt>Environment</dt>
            <dd data-field="environment">
              <Link to={`/?environment_id=${run.environment_id}`}>{environmentName(run.environment_id)}</Link>
              {run.status === 'queued' && run.queue_position != null && (
                <span className="muted"> · position {run.queue_position} in line</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd data-field="status">{run.status}</dd>
          </div>
          <div>
            <dt>Exit code</dt>
            <dd data-field="exit_code">{run.exit_code ?? <span className="muted">—</span>}</dd>
          </div>
          <div>
            <dt>Reason</dt>
            <dd data-field="reason">
              {reason ? (
                <span title={run.reason ?? undefined}>
                  {reason} <code className="muted">{run.reason}</code>
                </span>
              ) : (
                <span className="muted">—</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Tests</dt>
            <dd data-field="tests">
              {run.summary ? (
                <SummaryText summary={run.summary} />
              ) : run.status === 'running' && run.progress ? (
                <ProgressMeter progress={run.progress} />
              ) : (
                <span className="muted">{run.status === 'queued' ? 'not started' : '—'}</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd data-field="duration">{durationOf(run, now)}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>
              <Timestamp iso={run.created_at} />
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>
              <Timestamp iso={run.started_at} />
            </dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>
              <Timestamp iso={run.finished_at} />
            </dd>
          </div>
          <div className="details__wide">
            <dt>Test files ({run.test_files.length})</dt>
            <dd data-field="test_files">
              <ul className="file-list">
                {run.test_files.map((f) => (
                  <li key={f}>
                    <code>{f}</code>
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        </dl>
      </section>
      <RunLog runId={runId} run={run} />
      <TestResults run={run} />
    </>
  );
}
