import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { makeRun, renderWithProviders } from '../../test/utils';
import { RunsTable } from './RunsTable';

const NOW = Date.parse('2026-11-25T10:05:00Z');

describe('RunsTable', () => {
  it('renders a coloured badge per status, the queue position and a ticking running clock', () => {
    const runs = [
      makeRun({ id: 5, status: 'queued', queue_position: 2, started_at: null, finished_at: null, duration_ms: null, exit_code: null }),
      makeRun({ id: 4, status: 'running', started_at: '2026-11-25T10:03:55Z', finished_at: null, duration_ms: null, exit_code: null }),
      makeRun({ id: 3, status: 'success', duration_ms: 2150 }),
      makeRun({ id: 2, status: 'failed', exit_code: 1, reason: 'tests_failed', duration_ms: 65_000 }),
      makeRun({ id: 1, status: 'error', reason: 'timeout', exit_code: null }),
    ];
    const { rerender } = renderWithProviders(<RunsTable runs={runs} now={NOW} />);

    const row = (id: number) => screen.getByRole('link', { name: `#${id}` }).closest('tr')!;
    expect(within(row(5)).getByText('queued #2')).toHaveClass('badge', 'badge--queued');
    expect(within(row(4)).getByText('running 1m 05s')).toHaveClass('badge--running');
    expect(within(row(3)).getByText('success')).toHaveClass('badge--success');
    expect(within(row(3)).getByText('2.1 s')).toBeInTheDocument();
    expect(within(row(2)).getByText('failed')).toHaveClass('badge--failed');
    expect(within(row(2)).getByText('1m 05s')).toBeInTheDocument();
    expect(within(row(1)).getByText('error')).toHaveClass('badge--error');
    expect(screen.getByRole('link', { name: '#5' })).toHaveAttribute('href', '/runs/5');
    expect(within(row(5)).getByText('alice')).toBeInTheDocument();
    expect(within(row(5)).getByText('env7')).toBeInTheDocument();
    expect(within(row(5)).getByText('sample-tests/test_success.py')).toBeInTheDocument();

    // The next poll moves the clock on.
    rerender(<RunsTable runs={runs} now={NOW + 1000} />);
    expect(within(row(4)).getByText('running 1m 06s')).toBeInTheDocument();
  });

  it('abbreviates long lists of test files', () => {
    renderWithProviders(<RunsTable runs={[makeRun({ test_files: ['a/test_1.py', 'a/test_2.py', 'a/test_3.py', 'b/test_4.py'] })]} now={NOW} />);
    expect(screen.getByText('+2 more')).toBeInTheDocument();
    expect(screen.queryByText('a/test_3.py')).not.toBeInTheDocument();
  });

  it('says who cancelled a run and which run a rerun reruns', () => {
    renderWithProviders(
      <RunsTable
        runs={[
          makeRun({ id: 6, status: 'cancelled', reason: 'cancelled_by_user', cancelled_by: 'bob', summary: null }),
          makeRun({ id: 7, rerun_of: 3 }),
        ]}
        now={NOW}
      />,
    );
    const row = (id: number) => screen.getByRole('link', { name: `#${id}` }).closest('tr')!;
    expect(within(row(6)).getByText('cancelled')).toHaveAttribute('title', 'Cancelled by bob');
    expect(within(row(6)).getByText('by bob')).toBeInTheDocument();
    expect(row(6).querySelector('[data-label="Status"]')).toHaveTextContent(/^cancelled\s*by bob$/);
    expect(within(row(7)).getByTitle('Rerun of #3')).toHaveTextContent('rerun of #3');
  });
});
