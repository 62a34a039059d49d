import { useCallback, useEffect, useState, type RefObject } from 'react';

/** What a form focuses after a failed submit: its first invalid input, else its error alert. */
export const FIRST_INVALID = '[aria-invalid="true"], .alert--error';

/**
 * Returns a function a form calls after a failed submit (its own check, or
 * the API's answer): once the errors have rendered, focus moves to the first
 * element matching `selector` in the form, so a keyboard or screen-reader
 * user lands on what to fix. An error alert is made focusable first.
 */
export function useFocusFirstInvalid(formRef: RefObject<HTMLFormElement | null>, selector: string = FIRST_INVALID): () => void {
  // A counter, not a flag: a second failed submit must move focus again.
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (attempt === 0) return;
    const target = formRef.current?.querySelector<HTMLElement>(selector);
    if (!target) return;
    if (target.classList.contains('alert--error')) target.setAttribute('tabindex', '-1');
    target.focus();
  }, [attempt, formRef, selector]);
  return useCallback(() => setAttempt((n) => n + 1), []);
}
