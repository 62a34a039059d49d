import { useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { describeApiError } from '../../api/errors';
import { useOnline } from '../../api/status';
import { useCancelRun, useRerunFailedTests, useRerunRun } from '../../api/mutations';
import { isFinalStatus, type Run } from '../../api/types';
import { Alert } from '../../components/Alert';
import { loadUsername, saveUsername } from '../../lib/username';

type RerunKind = 'all' | 'failed';

/**
 * "Rerun as [name]": a rerun is filed under who asks for it, so a browser that does not
 * know its user yet asks once (and remembers) instead of filing it under the original user.
 */
function RerunAs({ kind, failedCount, pending, online, onRerun, onClose }: {
  kind: RerunKind;
  failedCount: number;
  pending: boolean;
  online: boolean;
  onRerun: (who: string) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const who = name.trim();
    if (who === '' || who.length > 150) {
      setInvalid(who === '' ? 'Enter your name: the rerun is filed under it.' : 'Use at most 150 characters.');
      input.current?.focus();
      return;
    }
    saveUsername(who);
    onRerun(who);
  };
  return (
    <form className="confirm" aria-label="Rerun as" onSubmit={submit} noValidate>
      <label htmlFor="rerun-as">{kind === 'failed' ? `Rerun ${failedCount} failed as` : 'Rerun as'}</label>
      <input
        id="rerun-as"
        ref={input}
        className="input input--small"
        value={name}
        maxLength={150}
        autoComplete="username"
        placeholder="Your name"
        aria-invalid={invalid ? true : undefined}
        aria-describedby={invalid ? 'rerun-as-error' : undefined}
        onChange={(e) => {
          setName(e.target.value);
          setInvalid(null);
        }}
        autoFocus
      />
      <button type="submit" className="button button--primary" disabled={pending || !online}>
        {pending ? 'Queuing…' : 'Rerun'}
      </button>
      <button type="button" className="button" onClick={onClose}>
        Never mind
      </button>
      {invalid && (
        <span id="rerun-as-error" className="text-error" role="alert">
          {invalid}
        </span>
      )}
    </form>
  );
}

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
  const [asking, setAsking] = useState<RerunKind | null>(null);
  // Who cancels: the remembered user, else what they type in the confirmation (optional).
  const [cancelAs, setCancelAs] = useState('');
  const known = loadUsername().trim();
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

  const rerunAs = (kind: RerunKind, who: string) => {
    setError(null);
    const body = { requested_by: who };
    if (kind === 'failed') rerunFailed.mutate({ id: run.id, body });
    else rerun.mutate({ id: run.id, body });
  };
  // The remembered user, else ask who reruns.
  const startRerun = (kind: RerunKind) => {
    const who = loadUsername().trim();
    if (who) rerunAs(kind, who);
    else setAsking(kind);
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
            {!known && (
              <>
                <label htmlFor="cancel-as" className="sr-only">
                  Your name (optional: the run shows who cancelled it)
                </label>
                <input
                  id="cancel-as"
                  className="input input--small"
                  value={cancelAs}
                  maxLength={150}
                  autoComplete="username"
                  placeholder="Your name"
                  title="Optional: the run shows who cancelled it"
                  onChange={(e) => setCancelAs(e.target.value)}
                />
              </>
            )}
            <button
              type="button"
              className="button button--danger"
              onClick={() => {
                setError(null);
                const who = known || cancelAs.trim();
                if (!known && who) saveUsername(who);
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
        {asking && (
          <RerunAs
            kind={asking}
            failedCount={failedCount}
            pending={rerun.isPending || rerunFailed.isPending}
            online={online}
            onRerun={(who) => rerunAs(asking, who)}
            onClose={() => setAsking(null)}
          />
        )}
        {!asking && !live && failedCount > 0 && (
          <button
            type="button"
            className="button"
            onClick={() => startRerun('failed')}
            disabled={rerunFailed.isPending || !online}
            title={`Queue a new run of the ${failedCount} failed or errored tests only`}
          >
            {rerunFailed.isPending ? 'Queuing…' : `Rerun ${failedCount} failed`}
          </button>
        )}
        {!asking && (
          <button
            type="button"
            className="button"
            onClick={() => startRerun('all')}
            disabled={rerun.isPending || !online}
            title={online ? 'Queue a new run with the same environment and test files' : 'Paused: the Baton API is not answering'}
          >
            {rerun.isPending ? 'Queuing…' : 'Rerun'}
          </button>
        )}
      </div>
      {error && (
        <Alert tone="error" onDismiss={() => setError(null)}>
          {error}
        </Alert>
      )}
    </div>
  );
}
