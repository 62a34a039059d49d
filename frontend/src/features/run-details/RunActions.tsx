import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { cancelRun, rerunRun } from '../../api/client';
import { ApiError, TOKEN_REQUIRED_MESSAGE, errorMessage } from '../../api/errors';
import { refreshAfterRunChanged, refreshAfterRunCreated } from '../../api/queries';
import { isFinalStatus, type Run } from '../../api/types';
import { Alert } from '../../components/Alert';
import { loadUsername } from '../../lib/username';

function describe(err: unknown, action: 'cancel' | 'rerun'): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return TOKEN_REQUIRED_MESSAGE;
    if (err.status === 409 && action === 'cancel') return `This run can no longer be cancelled: ${err.message}`;
    if (err.status === 0) return 'Cannot reach the Baton API; try again.';
  }
  return errorMessage(err);
}

/** Cancel (queued/running, with an inline confirmation) and Rerun (any run). */
export function RunActions({ run }: { run: Run }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const cancel = useMutation({
    mutationFn: () => cancelRun(run.id),
    onSuccess: async (updated) => {
      setConfirming(false);
      await refreshAfterRunChanged(queryClient, updated);
    },
    onError: (err) => {
      setConfirming(false);
      setError(describe(err, 'cancel'));
    },
  });

  const rerun = useMutation({
    mutationFn: () => {
      const who = loadUsername().trim();
      return rerunRun(run.id, who ? { requested_by: who } : {});
    },
    onSuccess: async (created) => {
      await refreshAfterRunCreated(queryClient);
      navigate(`/runs/${created.id}`);
    },
    onError: (err) => setError(describe(err, 'rerun')),
  });

  const live = !isFinalStatus(run.status);

  return (
    <div className="run-actions">
      <div className="run-actions__buttons">
        {live && !confirming && (
          <button type="button" className="button button--danger" onClick={() => setConfirming(true)} disabled={cancel.isPending}>
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
                cancel.mutate();
              }}
              autoFocus
            >
              Yes, cancel
            </button>
            <button type="button" className="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </span>
        )}
        <button
          type="button"
          className="button"
          onClick={() => {
            setError(null);
            rerun.mutate();
          }}
          disabled={rerun.isPending}
          title="Queue a new run with the same environment and test files"
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
