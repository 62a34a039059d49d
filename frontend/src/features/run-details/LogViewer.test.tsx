import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { LogViewer } from './LogViewer';

/** jsdom has no layout: give the <pre> a fixed viewport over its content. */
function fakeLayout(el: HTMLElement, scrollHeight: number) {
  Object.defineProperty(el, 'clientHeight', { configurable: true, value: 100 });
  Object.defineProperty(el, 'scrollHeight', { configurable: true, value: scrollHeight });
}

describe('LogViewer', () => {
  it('follows new text at the bottom, stops when scrolled up, resumes at the bottom', () => {
    const { rerender } = render(<LogViewer pieces={['a\n']} complete={false} placeholder="none" />);
    const pre = screen.getByTestId('run-log');
    fakeLayout(pre, 1000);
    rerender(<LogViewer pieces={['a\n', 'b\n']} complete={false} placeholder="none" />);
    expect(pre.scrollTop).toBe(1000);

    // The reader scrolls up: following stops.
    pre.scrollTop = 200;
    fireEvent.scroll(pre);
    fakeLayout(pre, 2000);
    rerender(<LogViewer pieces={['a\n', 'b\n', 'c\n']} complete={false} placeholder="none" />);
    expect(pre.scrollTop).toBe(200);
    expect(screen.getByRole('button', { name: 'Follow log ↓' })).toBeInTheDocument();

    // Back at the bottom: following resumes.
    pre.scrollTop = 1900;
    fireEvent.scroll(pre);
    fakeLayout(pre, 3000);
    rerender(<LogViewer pieces={['a\n', 'b\n', 'c\n', 'd\n']} complete={false} placeholder="none" />);
    expect(pre.scrollTop).toBe(3000);
    expect(screen.queryByRole('button', { name: 'Follow log ↓' })).not.toBeInTheDocument();
    expect(pre.textContent).toBe('a\nb\nc\nd\n');
  });

  it('shows a placeholder without text', () => {
    render(<LogViewer pieces={[]} complete={false} placeholder="No output yet." />);
    expect(screen.getByText('No output yet.')).toBeInTheDocument();
  });
});
