import type { ReactNode } from 'react';
import { describeApiError } from '../api/errors';

export function Spinner({ label }: { label?: string }) {
  return (
    <span className="spinner-wrap">
      <span className="spinner" aria-hidden="true" />
      {label && <span>{label}</span>}
    </span>
  );
}

export function LoadingState({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state--loading" role="status" aria-live="polite">
      <Spinner label={label} />
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state--empty">
      <p className="state__title">{title}</p>
      {children && <div className="state__body">{children}</div>}
    </div>
  );
}

/** A failed load: the title says what, the message comes from `message` or from describeApiError(error). */
export function ErrorState({ title = 'Something went wrong', message, error }: { title?: string; message?: string; error?: unknown }) {
  const text = message ?? describeApiError(error, { failed: title }).message;
  return (
    <div className="state state--error" role="alert">
      <p className="state__title">{title}</p>
      <p className="state__body">{text}</p>
    </div>
  );
}
