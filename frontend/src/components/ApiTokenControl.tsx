import { useId, useState, type FormEvent } from 'react';
import { setApiToken, useApiToken } from '../api/auth';

/**
 * Top-bar control for the optional API token (servers started with
 * BATON_API_TOKEN require it on every POST). Stored in this browser only.
 */
export function ApiTokenControl() {
  const token = useApiToken();
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState('');
  const inputId = useId();
  const panelId = useId();

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setApiToken(draft.trim());
    setDraft('');
    setOpen(false);
  };

  return (
    <div className="token">
      <button
        type="button"
        className="token__toggle"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
      >
        API token{token ? ' ✓' : ''}
      </button>
      {open && (
        <form
          id={panelId}
          className="token__panel"
          onSubmit={onSubmit}
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
          }}
        >
          <label htmlFor={inputId} className="field__label">
            API token
          </label>
          <input
            id={inputId}
            className="input"
            type="password"
            autoComplete="off"
            placeholder={token ? '•••••••• (set)' : 'Only if the server requires one'}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            autoFocus
          />
          <p className="field-hint">Sent as a Bearer token with runs, cancels and uploads. Kept in this browser only.</p>
          <div className="form__actions">
            <button type="submit" className="button button--primary" disabled={draft.trim() === ''}>
              Save
            </button>
            {token && (
              <button
                type="button"
                className="button"
                onClick={() => {
                  setApiToken('');
                  setOpen(false);
                }}
              >
                Forget token
              </button>
            )}
            <button type="button" className="button button--link" onClick={() => setOpen(false)}>
              Close
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
