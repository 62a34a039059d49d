import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import { rawLogUrl } from '../../api/client';
import { ApiError, describeApiError } from '../../api/errors';
import { useRun } from '../../api/queries';
import { useOnline } from '../../api/status';
import { isFinalStatus, type Run } from '../../api/types';
import { WaitReason } from '../../components/QueueNote';
import { etaSentence } from '../../lib/queue';
import { RelativeTime } from '../../components/RelativeTime';
import { ProgressMeter, SummaryText } from '../../components/RunOutcome';
import { StatusAnnouncer } from '../../components/StatusAnnouncer';
import { StatusBadge } from '../../components/StatusBadge';
import { ErrorState, LoadingState, Spinner } from '../../components/States';
import { elapsedSince, runTarget, formatBytes, formatDuration, formatElapsed } from '../../lib/format';
import { useDocumentStatus } from '../../lib/useDocumentStatus';
import { useTicker } from '../../lib/useTicker';
import { FailingTests } from './FailingTests';
import { HoldReason } from './HoldReason';
import { LogViewer } from './log/LogViewer';
import { useLogModel } from './log/useLogModel';
import { RunActions } from './RunActions';
import { RerunOf, Reruns } from './RunLineage';
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
  lease_expired: 'Its worker lost its lease (no heartbeat confirmed in time), so the run was killed',
  report_missing: 'pytest ended without writing its report, so the outcome is unknown',
  supervisor_lost: "The run's supervisor process died",
};

const STATUS_SYMBOL: Record<string, string> = { queued: '…', running: '▶', success: '✓', failed: '✗', error: '!', cancelled: '⊘' };

/** "cancelled by alice", or, while the run is still stopping, "cancel requested by alice". */
function CancelledBy({ run }: { run: Run }) {
  if (!run.cancelled_by) return null;
  const text = run.status === 'cancelled' ? `cancelled by ${run.cancelled_by}` : `cancel requested by ${run.cancelled_by}`;
  return (
    <span className="cancelled-by" data-field="cancelled_by">
      {' '}
      {text}
    </span>
  );
}

function durationOf(run: Run, now: number, online: boolean): string {
  if (run.duration_ms != null) return formatDuration(run.duration_ms);
  if (run.status === 'running') {
    if (!online) return 'unknown while offline';
    const elapsed = elapsedSince(run.started_at, now);
    return elapsed === null ? '—' : `${formatElapsed(elapsed)} so far`;
  }
  return '—';
}

/** How often "finished 3 min ago" moves on once the run has ended (its polling has stopped). */
const ENDED_CLOCK_MS = 5000;

function RunBody({ run, now, online }: { run: Run; now: number; online: boolean }) {
  const final = isFinalStatus(run.status);
  // A live run's times move with its polls (and stop with them when offline); an ended run is
  // no longer polled, so its "… ago" follow the wall clock instead of freezing at load time.
  const wall = useTicker(final, ENDED_CLOCK_MS);
  const ago = final ? Math.max(wall, now) : now;
  const { tail, isPending, error } = useLogTail(run.id, { runEnded: final });
  const { model, version } = useLogModel(tail.pieces);
  let placeholder = 'No output yet.';
  if (isPending) placeholder = 'Loading log…';
  else if (run.status === 'queued') placeholder = 'Waiting for the environment: the log starts when the run does.';
  else if (tail.complete) placeholder = 'This run produced no output.';
  let reason = run.reason ? (REASONS[run.reason] ?? run.reason) : null;
  if (run.reason === 'cancelled_by_user' && run.cancelled_by) reason = `Cancelled by ${run.cancelled_by}`;
  return (
    <>
      <section className="card" aria-label="Run summary">
        <dl className="details">
          <div>
            <dt>Username</dt>
            <dd data-field="requested_by">{run.requested_by}</dd>
          </div>
          <div>
            <dt>Environment</dt>
            <dd data-field="environment">
              {run.environment_id != null ? (
                <Link to={`/?environment_id=${run.environment_id}`}>{runTarget(run)}</Link>
              ) : (
                runTarget(run)
              )}
              {run.status === 'queued' && run.queue_position != null && <span className="muted"> · position {run.queue_position} in line</span>}
            </dd>
          </div>
          {run.status === 'queued' && run.waiting_for && (
            <div className="details__wide">
              <dt>In the queue</dt>
              <dd className="queue-why" data-field="waiting_for" data-wait-kind={run.waiting_for.kind}>
                <WaitReason wait={run.waiting_for} now={now} />
                {run.waiting_for.kind === 'hold' && run.waiting_for.environment_id != null && <HoldReason environmentId={run.waiting_for.environment_id} />}.{' '}
                <span className="muted">{etaSentence(run)}</span>
              </dd>
            </div>
          )}
          <div>
            <dt>Status</dt>
            <dd data-field="status">{run.status}</dd>
          </div>
          {run.rerun_of != null && (
            <div>
              <dt>Rerun of</dt>
              <dd>
                <RerunOf run={run} now={now} />
              </dd>
            </div>
          )}
          <Reruns run={run} now={now} />
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
            <dt>Created</dt>
            <dd>
              <RelativeTime iso={run.created_at} now={ago} />
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>
              <RelativeTime iso={run.started_at} now={ago} />
            </dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>
              <RelativeTime iso={run.finished_at} now={ago} />
            </dd>
          </div>
          {(run.tests.length > 0 || run.keyword || run.markers) && (
            <div className="details__wide">
              <dt>Selection</dt>
              <dd data-field="selection">
                {run.tests.length > 0 && (
                  <>
                    <span className="muted">
                      {run.tests.length === 1 ? 'Only this test' : `Only these ${run.tests.length} tests`} of their files:
                    </span>
                    <ul className="file-list">
                      {run.tests.map((t) => (
                        <li key={t}>
                          <code>{t}</code>
                        </li>
                      ))}
                    </ul>
                  </>
                )}
                {run.keyword && (
                  <div>
                    <code>-k {run.keyword}</code>
                  </div>
                )}
                {run.markers && (
                  <div>
                    <code>-m {run.markers}</code>
                  </div>
                )}
              </dd>
            </div>
          )}
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
      <FailingTests run={run} model={model} version={version} />
      <section className="card card--log" aria-labelledby="run-log-title">
        <header className="card__header">
          <h2 className="card__title" id="run-log-title">
            Log
          </h2>
          <div className="card__actions log-meta">
            {error && tail.pieces.length === 0 ? (
              <span className="text-error">Could not load the log: {describeApiError(error, { failed: 'Could not load the log' }).message}</span>
            ) : tail.complete ? (
              <span className="muted">
                Complete · {model.lineCount.toLocaleString()} lines · {formatBytes(tail.nextOffset)}
              </span>
            ) : online ? (
              <span className="muted">
                <Spinner label={`Live · ${formatBytes(tail.nextOffset)}`} />
              </span>
            ) : (
              <span className="muted">Paused while offline · {formatBytes(tail.nextOffset)}</span>
            )}
          </div>
        </header>
        <LogViewer
          model={model}
          version={version}
          complete={tail.complete}
          live={!final}
          placeholder={placeholder}
          rawUrl={rawLogUrl(run.id)}
        />
      </section>
      <TestResults run={run} />
    </>
  );
}

/** Everything about one run, polled until it is final, and its log tailed live. */
export function RunDetails({ runId }: { runId: number }) {
  const query = useRun(runId);
  const run = query.data;
  const online = useOnline();
  useDocumentStatus(run ? `${STATUS_SYMBOL[run.status] ?? ''} #${run.id} ${run.status}`.trim() : `Run #${runId}`, run?.status);

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
  const live = !isFinalStatus(run.status);
  return <RunPage run={run} now={now} live={live} online={online} />;
}

/** Tells the log toolbar how far down the sticky header reaches (it wraps on a phone). */
function useStickyOffset(ref: React.RefObject<HTMLElement | null>) {
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const root = document.documentElement;
    const set = () => root.style.setProperty('--sticky-offset', `${el.getBoundingClientRect().height + (parseFloat(getComputedStyle(el).top) || 0)}px`);
    set();
    const observer = new ResizeObserver(set);
    observer.observe(el);
    return () => {
      observer.disconnect();
      root.style.removeProperty('--sticky-offset');
    };
  }, [ref]);
}

function RunPage({ run, now, live, online }: { run: Run; now: number; live: boolean; online: boolean }) {
  const headerRef = useRef<HTMLElement>(null);
  useStickyOffset(headerRef);
  return (
    <>
      <StatusAnnouncer
        status={run.status}
        message={`Run #${run.id} is now ${run.status}${run.status === 'cancelled' && run.cancelled_by ? ` (cancelled by ${run.cancelled_by})` : ''}.`}
      />
      <header className="run-header" data-testid="run-header" ref={headerRef}>
        <div className="run-header__title">
          <h1>Run #{run.id}</h1>
          <StatusBadge run={run} now={now} stale={!online && live} />
          {live && online && <span className="live-dot" title="Updating live" aria-hidden="true" />}
          <span className="run-header__meta">
            {durationOf(run, now, online) !== '—' && (
              <>
                <span data-field="duration">{durationOf(run, now, online)}</span>
                <span aria-hidden="true"> · </span>
              </>
            )}
            {run.requested_by} in {runTarget(run)}
            {run.rerun_of != null && (
              <>
                <span aria-hidden="true"> · </span>
                <Link to={`/runs/${run.rerun_of}`} data-testid="rerun-of-link">
                  Rerun of #{run.rerun_of}
                </Link>
              </>
            )}
            {run.cancelled_by && (
              <>
                <span aria-hidden="true"> · </span>
                <CancelledBy run={run} />
              </>
            )}
          </span>
        </div>
        <RunActions run={run} />
      </header>
      <RunBody run={run} now={now} online={online} />
    </>
  );
}
