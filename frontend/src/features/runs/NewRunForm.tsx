import { useRef, useState, type FormEvent } from 'react';
import { useFocusFirstInvalid } from '../../lib/useFocusFirstInvalid';
import { Link } from 'react-router';
import { describeApiError, type ErrorDescription } from '../../api/errors';
import { useCreateRun } from '../../api/mutations';
import { useEnvironments, useTestFiles } from '../../api/queries';
import { useOnline } from '../../api/status';
import type { CreateRunRequest, Run } from '../../api/types';
import { Alert } from '../../components/Alert';
import { FieldError } from '../../components/FieldError';
import { TextField } from '../../components/TextField';
import { runTarget } from '../../lib/format';
import { loadUsername, saveUsername } from '../../lib/username';
import { EnvironmentSelect } from './EnvironmentSelect';
import { PoolSelect } from './PoolSelect';
import { TestFilePicker } from './TestFilePicker';

const FORM_FIELDS = ['requested_by', 'environment_id', 'pool', 'test_files', 'timeout_seconds'] as const;
/** The server's own limit for timeout_seconds (24 h). */
const MAX_TIMEOUT_MINUTES = 24 * 60;
type FormField = (typeof FORM_FIELDS)[number];
type FieldErrors = Partial<Record<FormField, string>>;
/** A run goes to one environment, or to the first free one of a pool (a label). */
type Target = 'environment' | 'pool';

function validate(username: string, target: Target, environmentId: number | null, pool: string, files: string[], timeoutMinutes: string): FieldErrors {
  const errors: FieldErrors = {};
  if (timeoutMinutes.trim() !== '') {
    const minutes = Number(timeoutMinutes);
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_TIMEOUT_MINUTES) {
      errors.timeout_seconds = `Enter minutes between 1 and ${MAX_TIMEOUT_MINUTES}, or leave empty for the server default.`;
    }
  }
  if (username.trim() === '') errors.requested_by = 'Enter your name.';
  else if (username.trim().length > 150) errors.requested_by = 'Use at most 150 characters.';
  if (target === 'environment' && environmentId == null) errors.environment_id = 'Choose an environment.';
  if (target === 'pool' && pool === '') errors.pool = 'Choose a pool.';
  if (files.length === 0) errors.test_files = 'Select at least one test file.';
  else if (files.length > 100) errors.test_files = 'Select at most 100 test files.';
  return errors;
}

interface NewRunFormProps {
  selectedFiles: string[];
  onSelectedFilesChange: (files: string[]) => void;
  /** Called with the new run; without it the form says itself that the run was created. */
  onCreated?: (run: Run) => void;
}

/** Username, an environment or a pool, and test files → POST /api/runs. */
// The file picker marks its whole fieldset invalid; a fieldset cannot take
// focus, so its first input does.
const FIRST_INVALID_FIELD = '[aria-invalid="true"]:not(fieldset), fieldset[aria-invalid="true"] input, .alert--error';

export function NewRunForm({ selectedFiles, onSelectedFilesChange, onCreated }: NewRunFormProps) {
  const online = useOnline();
  const formRef = useRef<HTMLFormElement>(null);
  // After a failed submit, focus goes to the first field in error (or the form's message).
  const focusFirstInvalid = useFocusFirstInvalid(formRef, FIRST_INVALID_FIELD);
  const environments = useEnvironments();
  const testFiles = useTestFiles();
  const [username, setUsername] = useState(loadUsername);
  const [target, setTarget] = useState<Target>('environment');
  const [environmentId, setEnvironmentId] = useState<number | null>(null);
  const [pool, setPool] = useState('');
  const [timeoutMinutes, setTimeoutMinutes] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<ErrorDescription | null>(null);
  const [created, setCreated] = useState<Run | null>(null);

  const mutation = useCreateRun({
    mutationConfig: {
      onSuccess: (run) => {
        if (onCreated) onCreated(run);
        else setCreated(run);
      },
      onError: (err) => {
        const described = describeApiError(err, { failed: 'The run was not started', shownFields: FORM_FIELDS });
        setFieldErrors(described.fields);
        setFormError(described.message ? described : null);
        focusFirstInvalid();
      },
    },
  });

  const clearFieldError = (field: FormField) => {
    if (fieldErrors[field]) setFieldErrors(({ [field]: _removed, ...rest }) => rest);
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    setFormError(null);
    const errors = validate(username, target, environmentId, pool, selectedFiles, timeoutMinutes);
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) {
      focusFirstInvalid();
      return;
    }
    const requestedBy = username.trim();
    saveUsername(requestedBy);
    const body: CreateRunRequest =
      target === 'pool' || environmentId == null
        ? { requested_by: requestedBy, pool, test_files: selectedFiles }
        : { requested_by: requestedBy, environment_id: environmentId, test_files: selectedFiles };
    if (timeoutMinutes.trim() !== '') body.timeout_seconds = Math.max(1, Math.round(Number(timeoutMinutes) * 60));
    mutation.mutate(body);
  };

  const errId = (field: FormField) => `new-run-${field}-error`;

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label="New run" ref={formRef}>
      <div className="form__row">
        <TextField
          id="new-run-username"
          name="requested_by"
          label="Username"
          value={username}
          maxLength={150}
          autoComplete="username"
          onValueChange={(value) => {
            setUsername(value);
            clearFieldError('requested_by');
          }}
          error={fieldErrors.requested_by}
          errorId={errId('requested_by')}
        />
        <div className="field">
          <fieldset className="target-choice">
            <legend className="field__label">Run in</legend>
            <label className="target-choice__option">
              <input type="radio" name="target" value="environment" checked={target === 'environment'} onChange={() => setTarget('environment')} />
              One environment
            </label>
            <label className="target-choice__option">
              <input type="radio" name="target" value="pool" checked={target === 'pool'} onChange={() => setTarget('pool')} />
              Any environment of a pool
            </label>
          </fieldset>
          {target === 'environment' ? (
            <>
              <label htmlFor="new-run-environment" className="field__label sr-only">
                Environment
              </label>
              <EnvironmentSelect
                id="new-run-environment"
                value={environmentId}
                onChange={(id) => {
                  setEnvironmentId(id);
                  clearFieldError('environment_id');
                }}
                environments={environments.data?.items}
                error={fieldErrors.environment_id}
                errorId={errId('environment_id')}
              />
              <FieldError id={errId('environment_id')} message={fieldErrors.environment_id} />
            </>
          ) : (
            <>
              <label htmlFor="new-run-pool" className="field__label sr-only">
                Pool
              </label>
              <PoolSelect
                id="new-run-pool"
                value={pool}
                onChange={(name) => {
                  setPool(name);
                  clearFieldError('pool');
                }}
                environments={environments.data}
                error={fieldErrors.pool}
                errorId={errId('pool')}
              />
              <FieldError id={errId('pool')} message={fieldErrors.pool} />
            </>
          )}
        </div>
      </div>
      <div className="field">
        <TestFilePicker
          id="new-run-files"
          files={testFiles.data}
          isLoading={testFiles.isPending}
          loadError={
            testFiles.isError && !testFiles.data
              ? (describeApiError(testFiles.error, { failed: 'Could not load the test files' }).message ?? undefined)
              : undefined
          }
          selected={selectedFiles}
          onChange={(files) => {
            onSelectedFilesChange(files);
            clearFieldError('test_files');
          }}
          error={fieldErrors.test_files}
          errorId={errId('test_files')}
        />
        <FieldError id={errId('test_files')} message={fieldErrors.test_files} />
      </div>
      <TextField
        id="new-run-timeout"
        name="timeout_minutes"
        fieldClassName="field--narrow"
        label={
          <>
            Timeout <span className="field__optional">(minutes, optional)</span>
          </>
        }
        type="number"
        inputMode="numeric"
        min={1}
        max={MAX_TIMEOUT_MINUTES}
        placeholder="server default"
        value={timeoutMinutes}
        onValueChange={(value) => {
          setTimeoutMinutes(value);
          clearFieldError('timeout_seconds');
        }}
        error={fieldErrors.timeout_seconds}
        errorId={errId('timeout_seconds')}
      />
      {formError && (
        <Alert tone="error" title={formError.title} onDismiss={() => setFormError(null)}>
          {formError.message}
        </Alert>
      )}
      {created && (
        <Alert tone="success" onDismiss={() => setCreated(null)}>
          Run <Link to={`/runs/${created.id}`}>#{created.id}</Link> {created.status === 'queued' ? 'queued' : created.status} in{' '}
          {runTarget(created)}
          {created.queue_position != null ? ` (#${created.queue_position} in line)` : ''}.
        </Alert>
      )}
      <div className="form__actions">
        <button type="submit" className="button button--primary" disabled={mutation.isPending || !online}>
          {mutation.isPending ? 'Starting…' : 'Start run'}
        </button>
      </div>
    </form>
  );
}
