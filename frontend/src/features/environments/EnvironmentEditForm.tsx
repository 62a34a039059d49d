import { useRef, useState, type FormEvent } from 'react';
import { useFocusFirstInvalid } from '../../lib/useFocusFirstInvalid';
import { describeApiError, type ErrorDescription } from '../../api/errors';
import { useOnline } from '../../api/status';
import type { Environment } from '../../api/types';
import { Alert } from '../../components/Alert';
import { FieldError } from '../../components/FieldError';
import { TextField } from '../../components/TextField';
import { useUpdateEnvironment } from './api/mutations';
import { checkDraft, draftOf, LIMITS, newRowKey, patchOf, type DraftErrors, type MetadataDraft, type VariableRow } from './metadata';

const SHOWN = ['description', 'labels', 'url', 'variables'] as const;

/** The server names a variable's error `variables.NAME`; the row with that name shows it. */
function serverErrors(fields: Record<string, string>, rows: VariableRow[]): DraftErrors {
  const errors: DraftErrors = {};
  const variables: Record<number, string> = {};
  for (const [field, why] of Object.entries(fields)) {
    if (field === 'description' || field === 'labels' || field === 'url') errors[field] = why;
    else if (field.startsWith('variables.')) {
      const row = rows.find((r) => r.name.trim() === field.slice('variables.'.length));
      if (row) variables[row.key] = why;
    }
  }
  if (Object.keys(variables).length > 0) errors.variables = variables;
  return errors;
}

/**
 * Description, labels (each one a pool), URL and variables → PATCH, sending only
 * what changed. A secret's value is write-only: its input starts empty and empty
 * keeps it. The form starts from the environment as loaded and is not reset by
 * polling while someone types; saving resets it to what the server answered.
 */
export function EnvironmentEditForm({ env }: { env: Environment }) {
  const online = useOnline();
  const formRef = useRef<HTMLFormElement>(null);
  const [draft, setDraft] = useState<MetadataDraft>(() => draftOf(env));
  const [errors, setErrors] = useState<DraftErrors>({});
  const [formError, setFormError] = useState<ErrorDescription | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const focusFirstInvalid = useFocusFirstInvalid(formRef);

  const mutation = useUpdateEnvironment({
    mutationConfig: {
      onSuccess: (saved) => {
        setDraft(draftOf(saved));
        setErrors({});
        setNotice(`Saved ${saved.name}.`);
      },
      onError: (err, { patch }) => {
        const rows = draft.variables;
        const fieldNames = [...SHOWN, ...Object.keys(patch.variables ?? {}).map((n) => `variables.${n}`)];
        const described = describeApiError(err, { failed: 'The changes were not saved', shownFields: fieldNames });
        setErrors(serverErrors(described.fields, rows));
        // A variable's error whose row is gone (removed while the request ran) still has to be read somewhere.
        const unplaced = Object.entries(described.fields).filter(([f]) => f.startsWith('variables.') && !rows.some((r) => `variables.${r.name.trim()}` === f));
        const extra = unplaced.map(([f, why]) => `${f.slice('variables.'.length)} ${why}.`).join(' ');
        const message = [described.message, extra].filter(Boolean).join(' ');
        setFormError(message ? { ...described, message } : null);
        focusFirstInvalid();
      },
    },
  });

  const edit = (change: Partial<MetadataDraft>) => {
    setDraft((d) => ({ ...d, ...change }));
    setNotice(null);
  };
  const editRow = (key: number, change: Partial<VariableRow>) => {
    setDraft((d) => ({ ...d, variables: d.variables.map((r) => (r.key === key ? { ...r, ...change } : r)) }));
    setErrors(({ variables, ...rest }) => {
      if (!variables?.[key]) return variables ? { ...rest, variables } : rest;
      const { [key]: _gone, ...others } = variables;
      return Object.keys(others).length > 0 ? { ...rest, variables: others } : rest;
    });
    setNotice(null);
  };
  const clear = (field: 'description' | 'labels' | 'url') => {
    if (errors[field]) setErrors(({ [field]: _gone, ...rest }) => rest);
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    setNotice(null);
    const found = checkDraft(draft, env);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      focusFirstInvalid();
      return;
    }
    const patch = patchOf(draft, env);
    if (!patch) {
      setNotice('Nothing changed.');
      return;
    }
    mutation.mutate({ id: env.id, patch });
  };

  const id = (field: string) => `env-edit-${field}`;
  const errId = (field: string) => `env-edit-${field}-error`;
  const described = (field: string, hint?: string) => [errors[field as keyof DraftErrors] ? errId(field) : '', hint ?? ''].filter(Boolean).join(' ') || undefined;

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-label={`Edit ${env.name}`} ref={formRef}>
      <div className="field">
        <label htmlFor={id('description')} className="field__label">
          Description <span className="field__optional">(optional)</span>
        </label>
        <textarea
          id={id('description')}
          className="input textarea"
          rows={2}
          maxLength={LIMITS.description}
          value={draft.description}
          onChange={(e) => {
            edit({ description: e.target.value });
            clear('description');
          }}
          aria-invalid={errors.description ? true : undefined}
          aria-describedby={described('description')}
        />
        <FieldError id={errId('description')} message={errors.description} />
      </div>
      <div className="form__row">
        <TextField
          id={id('labels')}
          label="Labels"
          value={draft.labels}
          placeholder="staging eu"
          autoCapitalize="none"
          spellCheck={false}
          onValueChange={(value) => {
            edit({ labels: value });
            clear('labels');
          }}
          error={errors.labels}
          errorId={errId('labels')}
          hint="Lower-case words, separated by spaces or commas. Each label is a pool: a run can ask for any environment with it."
          hintId={id('labels-hint')}
        />
        <TextField
          id={id('url')}
          label={
            <>
              URL <span className="field__optional">(optional)</span>
            </>
          }
          type="url"
          inputMode="url"
          value={draft.url}
          placeholder="https://staging.example.com"
          onValueChange={(value) => {
            edit({ url: value });
            clear('url');
          }}
          error={errors.url}
          errorId={errId('url')}
          hint={
            <>
              Tests get it as <code>TEST_ENV_URL</code>.
            </>
          }
          hintId={id('url-hint')}
        />
      </div>
      <fieldset className="variables">
        <legend className="field__label">Variables</legend>
        <p className="field-hint" id={id('variables-hint')}>
          Every run here gets each one under its own name. A secret is never shown again once saved and is masked in logs: leave its value
          empty to keep it.
        </p>
        {draft.variables.length === 0 ? (
          <p className="muted variables__empty">No variables.</p>
        ) : (
          <ul className="variables__list">
            {draft.variables.map((row, i) => {
              const stored = env.variables[row.name.trim()];
              const storedSecret = stored?.secret === true;
              const rowError = errors.variables?.[row.key];
              const rowErrId = `env-edit-var-${row.key}-error`;
              const what = row.name.trim() || `variable ${i + 1}`;
              return (
                <li key={row.key} className="variables__row" data-variable={row.name}>
                  <div className="variables__name">
                    <label className="sr-only" htmlFor={`env-edit-var-${row.key}-name`}>
                      Name of variable {i + 1}
                    </label>
                    <input
                      id={`env-edit-var-${row.key}-name`}
                      className="input input--mono"
                      value={row.name}
                      placeholder="NAME"
                      autoCapitalize="characters"
                      spellCheck={false}
                      maxLength={LIMITS.variableName}
                      onChange={(e) => editRow(row.key, { name: e.target.value })}
                      aria-invalid={rowError ? true : undefined}
                      aria-describedby={rowError ? rowErrId : undefined}
                    />
                  </div>
                  <div className="variables__value">
                    <label className="sr-only" htmlFor={`env-edit-var-${row.key}-value`}>
                      Value of {what}
                    </label>
                    <input
                      id={`env-edit-var-${row.key}-value`}
                      className="input input--mono"
                      type={row.secret ? 'password' : 'text'}
                      autoComplete={row.secret ? 'new-password' : 'off'}
                      value={row.value}
                      placeholder={storedSecret ? '•••••• (secret, unchanged)' : 'value'}
                      spellCheck={false}
                      onChange={(e) => editRow(row.key, { value: e.target.value })}
                      aria-invalid={rowError ? true : undefined}
                      aria-describedby={rowError ? rowErrId : undefined}
                    />
                  </div>
                  <label className="variables__secret">
                    <input type="checkbox" checked={row.secret} onChange={(e) => editRow(row.key, { secret: e.target.checked })} />
                    Secret <span className="sr-only">({what})</span>
                  </label>
                  <button
                    type="button"
                    className="button button--small"
                    onClick={() => setDraft((d) => ({ ...d, variables: d.variables.filter((r) => r.key !== row.key) }))}
                  >
                    Remove <span className="sr-only">{what}</span>
                  </button>
                  {rowError && (
                    <p className="field-error variables__error" id={rowErrId} role="alert">
                      {rowError}
                    </p>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        <div>
          <button
            type="button"
            className="button button--small"
            onClick={() => setDraft((d) => ({ ...d, variables: [...d.variables, { key: newRowKey(), name: '', value: '', secret: false }] }))}
          >
            Add variable
          </button>
        </div>
      </fieldset>
      {formError && (
        <Alert tone="error" title={formError.title} onDismiss={() => setFormError(null)}>
          {formError.message}
        </Alert>
      )}
      {notice && <Alert tone={notice === 'Nothing changed.' ? 'info' : 'success'}>{notice}</Alert>}
      <div className="form__actions">
        <button type="submit" className="button button--primary" disabled={mutation.isPending || !online}>
          {mutation.isPending ? 'Saving…' : 'Save changes'}
        </button>
        <button
          type="button"
          className="button"
          disabled={mutation.isPending}
          onClick={() => {
            setDraft(draftOf(env));
            setErrors({});
            setFormError(null);
            setNotice(null);
          }}
        >
          Discard changes
        </button>
      </div>
    </form>
  );
}
