import type { InputHTMLAttributes, ReactNode } from 'react';
import { FieldError } from './FieldError';

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange' | 'className' | 'aria-invalid' | 'aria-describedby'>;

interface TextFieldProps extends InputProps {
  id: string;
  label: ReactNode;
  value: string;
  onValueChange: (value: string) => void;
  /** The field's error, if any: marks the input invalid and describes it. */
  error?: string;
  errorId: string;
  /** A hint under the input; it describes the input too (with `hintId`). */
  hint?: ReactNode;
  hintId?: string;
  /** Extra classes of the field, e.g. `field--narrow`. */
  fieldClassName?: string;
  /** Rendered right after the input (a datalist, say). */
  children?: ReactNode;
}

/**
 * A labelled text input with its hint and error, as every form writes it:
 * the error marks the input `aria-invalid` (the forms focus the first such
 * input after a failed submit) and describes it, before the hint does.
 */
export function TextField({ id, label, value, onValueChange, error, errorId, hint, hintId, fieldClassName, children, ...input }: TextFieldProps) {
  const describedBy = [error ? errorId : '', hint && hintId ? hintId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={fieldClassName ? `field ${fieldClassName}` : 'field'}>
      <label htmlFor={id} className="field__label">
        {label}
      </label>
      <input
        {...input}
        id={id}
        className="input"
        value={value}
        onChange={(e) => onValueChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
      />
      {children}
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      <FieldError id={errorId} message={error} />
    </div>
  );
}
