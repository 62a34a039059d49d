import { fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { TextField } from './TextField';

describe('TextField', () => {
  it('labels its input and reports each change', () => {
    const onValueChange = vi.fn();
    render(<TextField id="f-name" label="Name" value="" onValueChange={onValueChange} errorId="f-name-error" maxLength={5} placeholder="who" />);
    const input = screen.getByRole('textbox', { name: 'Name' });
    expect(input).toHaveAttribute('id', 'f-name');
    expect(input).toHaveAttribute('maxlength', '5');
    expect(input).toHaveAttribute('placeholder', 'who');
    expect(input).not.toHaveAttribute('aria-invalid');
    expect(input).not.toHaveAttribute('aria-describedby');
    fireEvent.change(input, { target: { value: 'ada' } });
    expect(onValueChange).toHaveBeenCalledWith('ada');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('marks an error invalid and describes the input with hint and error', () => {
    function Field() {
      const [value, setValue] = useState('x');
      return (
        <TextField id="f-url" label="URL" value={value} onValueChange={setValue} error="must be a URL" errorId="f-url-error" hint="Tests get it." hintId="f-url-hint">
          <datalist id="f-url-options" />
        </TextField>
      );
    }
    const { container } = render(<Field />);
    const input = screen.getByRole('textbox', { name: 'URL' });
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input).toHaveAttribute('aria-describedby', 'f-url-error f-url-hint');
    expect(input).toHaveAccessibleDescription('must be a URL Tests get it.');
    expect(screen.getByRole('alert')).toHaveAttribute('id', 'f-url-error');
    expect(container.querySelector('#f-url + datalist')).not.toBeNull();
  });

  it('is described by its hint alone without an error', () => {
    render(<TextField id="f-dir" label="Directory" value="" onValueChange={() => {}} errorId="f-dir-error" hint="Under uploads/." hintId="f-dir-hint" fieldClassName="field--narrow" />);
    const input = screen.getByRole('textbox', { name: 'Directory' });
    expect(input).toHaveAttribute('aria-describedby', 'f-dir-hint');
    expect(input.closest('.field')).toHaveClass('field--narrow');
  });
});
