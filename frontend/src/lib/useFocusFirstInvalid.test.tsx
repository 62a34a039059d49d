import { fireEvent, render, screen } from '@testing-library/react';
import { useRef, useState, type FormEvent } from 'react';
import { describe, expect, it } from 'vitest';
import { useFocusFirstInvalid } from './useFocusFirstInvalid';

function Form({ invalid, alert }: { invalid: string[]; alert?: boolean }) {
  const formRef = useRef<HTMLFormElement>(null);
  const focusFirstInvalid = useFocusFirstInvalid(formRef);
  const [failed, setFailed] = useState(false);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setFailed(true);
    focusFirstInvalid();
  };
  return (
    <form ref={formRef} onSubmit={onSubmit} aria-label="f">
      {['a', 'b'].map((n) => (
        <input key={n} aria-label={n} aria-invalid={failed && invalid.includes(n) ? true : undefined} />
      ))}
      {failed && alert && <div className="alert--error">It failed</div>}
      <button type="submit">Go</button>
    </form>
  );
}

describe('useFocusFirstInvalid', () => {
  it('focuses the first invalid input once the errors rendered, again after each failed submit', () => {
    render(<Form invalid={['b']} />);
    const go = screen.getByRole('button', { name: 'Go' });
    go.focus();
    expect(screen.getByLabelText('b')).not.toHaveFocus();
    fireEvent.click(go);
    expect(screen.getByLabelText('b')).toHaveFocus();
    go.focus();
    fireEvent.click(go);
    expect(screen.getByLabelText('b')).toHaveFocus();
  });

  it('falls back to the error alert, made focusable', () => {
    render(<Form invalid={[]} alert />);
    fireEvent.click(screen.getByRole('button', { name: 'Go' }));
    const alert = screen.getByText('It failed');
    expect(alert).toHaveAttribute('tabindex', '-1');
    expect(alert).toHaveFocus();
  });

  it('does nothing before the first failed submit', () => {
    render(<Form invalid={['a']} />);
    expect(document.body).toHaveFocus();
  });
});
