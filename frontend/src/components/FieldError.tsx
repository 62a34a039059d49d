interface FieldErrorProps {
  id: string;
  message?: string;
}

/** An error shown under its input; point the input's aria-describedby at `id`. */
export function FieldError({ id, message }: FieldErrorProps) {
  if (!message) return null;
  return (
    <p className="field-error" id={id} role="alert">
      {message}
    </p>
  );
}
