import { useState } from 'react';
import { useNavigate } from 'react-router';
import { describeApiError } from '../../api/errors';
import { useOnline } from '../../api/status';
import { useCancelRun, useRerunFailedTests, useRerunRun } from '../../api/mutations';
import { isFinalStatus, type Run } from '../../api/types';
import { Alert } from '../../components/Alert';
import { loadUsername } from '../../lib/username';

function describe(err: unknown, action: 'cancel' | 'rerun'): string {
  const described =
    action === 'cancel'
      ? describeApiError(err, {
          failed: 'The run was not cancelled',
          byStatus: { 409: { message: `This run can no longer be cancelled: ${err instanceof Error ? err.message : ''}` } },
        })
      : describeApiError(err, { failed: 'The run was not queued again' });
  return described.message ?? described.title;
}

/** Cancel (queued/running, with an inline confirmation) and Rerun (any run). */
export function RunActions({ run }: { run: Run }) {
  const navigate = useNavigate();
  const online = useOnline();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const cancel = useCancelRun({
    mutationConfig: {
      onSuccess: () => setConfirming(false),
      onError: (err) => {
        setConfirming(false);
        setError(describe(err, 'cancel'));
      },
    },
  });

  const rerun = useRerunRun({
    mutationConfig: {
      onSuccess: (created) => navigate(`/runs/${created.id}`),
      onError: (err) => setError(describe(err, 'rerun')),
    },
  });

  const rerunFailed = useRerunFailedTests({
    mutationConfig: {
      onSuccess: (created) => navigate(`/runs/${created.id}`),
      onError: (err) => setError(describeApiError(err, { failed: 'The failed tests were not queued again' }).message),
    },
  });
  const failedCount = (run.summary?.failed ?? 0) + (run.summary?.errors ?? 0);

  const rerunThis = () => {
    const who = loadUsername().trim();
    rerun.mutate({ id: run.id, body: who ? { requested_by: who } : {} });
  };

  const live = !isFinalStatus(run.status);

  return (
    <div className="run-actions">
      <div className="run-actions__buttons">
        {live && !confirming && (
          <button type="button" className="button button--danger" onClick={() => setConfirming(true)} disabled={cancel.isPending || !online}>
            {cancel.isPending ? 'Cancelling…' : 'Cancel run'}
          </button>
        )}
        {live && confirming && (
          <span className="confirm" role="group" aria-label="Confirm cancellation">
            <span>Cancel run #{run.id}{run.status === 'running' ? ' and stop its tests' : ''}?</span>
            <button
              type="button"
              className="button button--danger"
              onClick={() => {
                setError(null);
                const who = loadUsername().trim();
                cancel.mutate({ id: run.id, body: who ? { cancelled_by: who } : {} });
              }}
              disabled={!online}
              autoFocus
            >
              Yes, cancel
            </button>
            <button type="button" className="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </span>
        )}
        {!live && failedCount > 0 && (
          <button
            type="button"
            className="button"
            onClick={() => {
              setError(null);
              const who = loadUsername().trim();
              rerunFailed.mutate({ id: run.id, body: who ? { requested_by: who } : {} });
            }}
            disabled={rerunFailed.isPending || !online}
            title={`Queue a new run of the ${failedCount} failed or errored tests only`}
          >
            {rerunFailed.isPending ? 'Queuing…' : `Rerun ${failedCount} failed`}
          </button>
        )}
        <button
          type="button"
          className="button"
          onClick={() => {
            setError(null);
            rerunThis();
          }}
          disabled={rerun.isPending || !online}
          title={online ? 'Queue a new run with the same environment and test files' : 'Paused: the Baton API is not answering'}
        >
          {rerun.isPending ? 'Queuing…' : 'Rerun'}
        </button>
      </div>
      {error && (
        <Alert tone="error" onDismiss={() => setError(null)}>
          {error}
        </Alert>
      )}
    </div>
  );
}
