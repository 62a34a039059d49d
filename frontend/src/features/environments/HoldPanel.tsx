import { useRef, useState, type FormEvent } from 'react';
import { useFocusFirstInvalid } from '../../lib/useFocusFirstInvalid';
import { Link } from 'react-router';
import { describeApiError, type ErrorDescription } from '../../api/errors';
import { useOnline } from '../../api/status';
import type { Environment, Hold } from '../../api/types';
import { Alert } from '../../components/Alert';
import { FieldError } from '../../components/FieldError';
import { TextField } from '../../components/TextField';
import { RelativeTime } from '../../components/RelativeTime';
import { formatFullTimestamp, formatHoldUntil } from '../../lib/format';
import { loadUsername, saveUsername } from '../../lib/username';
import { useHoldEnvironment, useReleaseEnvironment } from './api/mutations';
import { HOLD_DURATIONS, holdUntil, type HoldDuration } from './hold';
import { LIMITS } from './metadata';

const HOLD_FIELDS = ['held_by', 'reason', 'until'] as const;
type HoldField = (typeof HOLD_FIELDS)[number];

/** "Held by carol until 14:30 — debugging the payments sandbox", and whether it is in force yet. */
function HoldState({ env, hold, now }: { env: Environment; hold: Hold; now: number }) {
  const pending = env.state === 'busy';
  return (
    <div className="hold-state" data-testid="hold-state">
      <p className="hold-state__who">
        <strong>
          {pending ? 'Hold placed' : 'Held'} by {hold.held_by}
        </strong>{' '}
        <span title={hold.until ? formatFullTimestamp(hold.until) : undefined}>{formatHoldUntil(hold.until, now)}</span>
        <span className="muted">
          {' '}
          · since <RelativeTime iso={hold.since} now={now} />
        </span>
      </p>
      <p className="hold-state__reason">{hold.reason}</p>
      <p className="field-hint">
        {pending && env.running_run_id != null ? (
          <>
            It takes effect when run <Link to={`/runs/${env.running_run_id}`}>#{env.running_run_id}</Link> ends.{' '}
          </>
        ) : null}
        No run starts here while it lasts: queued runs keep their places, and pools skip {env.name}.
      </p>
    </div>
  );
}

/** The environment's hold: who holds it, until when and why, with Release; or a form to hold it. */
export function HoldPanel({ env, now }: { env: Environment; now: number }) {
  const online = useOnline();
  const formRef = useRef<HTMLFormElement>(null);
  const [heldBy, setHeldBy] = useState(loadUsername);
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState<HoldDuration>('');
  const [custom, setCustom] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<HoldField, string>>>({});
  const [formError, setFormError] = useState<ErrorDescription | null>(null);
  const focusFirstInvalid = useFocusFirstInvalid(formRef);
  // The holder may change their hold (a new end, a new reason) without releasing it.
  const [changing, setChanging] = useState(false);

  const hold = useHoldEnvironment({
    mutationConfig: {
      onSuccess: () => {
        setReason('');
        setFieldErrors({});
        setChanging(false);
      },
      onError: (err) => {
        const described = describeApiError(err, { failed: `${env.name} was not held`, shownFields: HOLD_FIELDS });
        setFieldErrors(described.fields);
        setFormError(described.message ? described : null);
        focusFirstInvalid();
      },
    },
  });
  const release = useReleaseEnvironment({
    mutationConfig: {
      onSuccess: () => setFormError(null),
      onError: (err) => setFormError(describeApiError(err, { failed: `${env.name} was not released` })),
    },
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    const errors: Partial<Record<HoldField, string>> = {};
    const who = heldBy.trim();
    if (who === '') errors.held_by = 'Enter your name.';
    else if (who.length > 150) errors.held_by = 'Use at most 150 characters.';
    if (reason.trim() === '') errors.reason = 'Say why, so people waiting know.';
    const until = holdUntil(duration, custom, Date.now());
    if (until.error) errors.until = until.error;
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) {
      focusFirstInvalid();
      return;
    }
    saveUsername(who);
    hold.mutate({ id: env.id, hold: { held_by: who, reason: reason.trim(), ...(until.until ? { until: until.until } : {}) } });
  };

  const clear = (field: HoldField) => {
    if (fieldErrors[field]) setFieldErrors(({ [field]: _gone, ...rest }) => rest);
  };
  const errId = (field: HoldField) => `hold-${field}-error`;

  const error = formError && (
    <Alert tone="error" title={formError.title} onDismiss={() => setFormError(null)}>
      {formError.message}
    </Alert>
  );

  const current = env.hold;
  if (current && !changing) {
    return (
      <div className="hold-panel">
        <HoldState env={env} hold={current} now={now} />
        {error}
        <div className="form__actions">
          <button type="button" className="button button--primary" disabled={release.isPending || !online} onClick={() => release.mutate(env.id)}>
            {release.isPending ? 'Releasing…' : `Release ${env.name}`}
          </button>
          <button
            type="button"
            className="button"
            disabled={!online}
            onClick={() => {
              setHeldBy(current.held_by);
              setReason(current.reason);
              setDuration('');
              setFormError(null);
              setFieldErrors({});
              setChanging(true);
            }}
          >
            Change hold
          </button>
        </div>
      </div>
    );
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label={`Hold ${env.name}`} ref={formRef}>
      <p className="field-hint">
        {current
          ? `Change ${current.held_by}'s hold: a new end or reason (only ${current.held_by} may change it; anyone may release it).`
          : `Take ${env.name} out for maintenance or to debug in it: no run starts here until the hold ends${env.state === 'busy' ? ', once the run now running ends' : ''}.`}
      </p>
      <div className="form__row">
        <TextField
          id="hold-held-by"
          label="Held by"
          value={heldBy}
          maxLength={150}
          autoComplete="username"
          onValueChange={(value) => {
            setHeldBy(value);
            clear('held_by');
          }}
          error={fieldErrors.held_by}
          errorId={errId('held_by')}
        />
        <div className="field">
          <label htmlFor="hold-duration" className="field__label">
            How long
          </label>
          <select
            id="hold-duration"
            className="input"
            value={duration}
            onChange={(e) => {
              setDuration(e.target.value as HoldDuration);
              clear('until');
            }}
            aria-invalid={fieldErrors.until && duration !== 'custom' ? true : undefined}
            aria-describedby={fieldErrors.until && duration !== 'custom' ? errId('until') : undefined}
          >
            {HOLD_DURATIONS.map((d) => (
              <option key={d.value} value={d.value}>
                {d.label}
              </option>
            ))}
          </select>
          {duration === 'custom' && (
            <>
              <label htmlFor="hold-until" className="sr-only">
                Hold until
              </label>
              <input
                id="hold-until"
                className="input"
                type="datetime-local"
                value={custom}
                onChange={(e) => {
                  setCustom(e.target.value);
                  clear('until');
                }}
                aria-invalid={fieldErrors.until ? true : undefined}
                aria-describedby={fieldErrors.until ? errId('until') : undefined}
              />
            </>
          )}
          <FieldError id={errId('until')} message={fieldErrors.until} />
        </div>
      </div>
      <TextField
        id="hold-reason"
        label="Reason"
        value={reason}
        maxLength={LIMITS.holdReason}
        placeholder="debugging the payments sandbox"
        onValueChange={(value) => {
          setReason(value);
          clear('reason');
        }}
        error={fieldErrors.reason}
        errorId={errId('reason')}
      />
      {error}
      <div className="form__actions">
        <button type="submit" className="button button--primary" disabled={hold.isPending || !online}>
          {hold.isPending ? 'Holding…' : current ? 'Update hold' : `Hold ${env.name}`}
        </button>
        {current && (
          <button type="button" className="button" onClick={() => setChanging(false)}>
            Keep it as it is
          </button>
        )}
      </div>
    </form>
  );
}
