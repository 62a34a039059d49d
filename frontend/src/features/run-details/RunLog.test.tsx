import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { json, makeRun, mockApi, renderWithProviders } from '../../test/utils';
import { RunDetails } from './RunDetails';

const E = '\u001b';
const lines = Array.from({ length: 300 }, (_, i) => `plain line ${i + 1}`);
lines[9] = `${E}[32mPASSED${E}[0m test_ok`;
lines[199] = '=================================== FAILURES ===================================';
lines[200] = '___________________________________ test_bad ___________________________________';
lines[201] = 'E       assert 1 == 2';
const LOG = lines.join('\n') + '\n';

function setup(route: string) {
  mockApi({
    'GET /api/runs/8': () => json(makeRun({ id: 8, status: 'failed', exit_code: 1, reason: 'tests_failed' })),
    'GET /api/runs/8/log': () => json({ offset: 0, next_offset: LOG.length, text: LOG, complete: true }),
    'GET /api/runs/8/tests': () =>
      json({
        items: [{ node_id: 'sample-tests/test_x.py::test_bad', outcome: 'failed', duration_ms: 4, message: 'assert 1 == 2' }],
        summary: { passed: 0, failed: 1, errors: 0, skipped: 0, total: 1 },
      }),
  });
  return renderWithProviders(
    <Routes>
      <Route path="/runs/8" element={<RunDetails runId={8} />} />
    </Routes>,
    { route },
  );
}

const row = (n: number) => document.getElementById(`L${n}`);

describe('run log', () => {
  it('renders ANSI colours as styled spans with line numbers', async () => {
    setup('/runs/8');
    await waitFor(() => expect(row(10)).not.toBeNull());
    const passed = within(row(10)!).getByText('PASSED');
    expect(passed).toHaveClass('ansi-green-fg');
    expect(row(10)!.textContent).not.toContain(E);
    expect(within(row(10)!).getByRole('link', { name: 'Line 10' })).toHaveAttribute('href', '#L10');
  });

  it('opens a #L link at its line, highlighted', async () => {
    setup('/runs/8#L250');
    await waitFor(() => expect(row(250)).not.toBeNull());
    expect(row(250)!.querySelector('.log__line--target')).not.toBeNull();
    expect(window.scrollY).toBeGreaterThan(3000);
  });

  it('searches with a count and next/previous', async () => {
    setup('/runs/8');
    const user = userEvent.setup();
    const box = await screen.findByLabelText('Search the log');
    await user.type(box, 'plain line 29');
    // "plain line 29" and "plain line 290".."299"
    await waitFor(() => expect(screen.getByTestId('log-search-count')).toHaveTextContent('1 of 11'));
    await user.keyboard('{Enter}');
    expect(screen.getByTestId('log-search-count')).toHaveTextContent('2 of 11');
    await waitFor(() => expect(row(290)?.querySelector('mark')).toHaveTextContent('plain line 29'));
    await user.click(screen.getByRole('button', { name: 'Previous match' }));
    expect(screen.getByTestId('log-search-count')).toHaveTextContent('1 of 11');
  });

  it('lists the failing test above the log, linked to its report, and jumps to the first failure', async () => {
    setup('/runs/8');
    const failures = await screen.findByRole('region', { name: '1 failing test' });
    const link = await within(failures).findByRole('link', { name: 'Line 201 of the log' });
    expect(link).toHaveAttribute('href', '/runs/8#L201');
    expect(failures.querySelector('pre')!.textContent).toMatch(/^E {7}assert 1 == 2\n/);
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'First failure' }));
    await waitFor(() => expect(row(201)?.querySelector('.log__line--target')).not.toBeNull());
  });

  it('folds a pytest section', async () => {
    setup('/runs/8#L200');
    const user = userEvent.setup();
    const fold = await screen.findByRole('button', { name: 'Collapse section “FAILURES”' });
    await user.click(fold);
    expect(await screen.findByText(/100 lines hidden/)).toBeInTheDocument();
    expect(row(201)).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Expand section “FAILURES”' }));
    await waitFor(() => expect(row(201)).not.toBeNull());
  });
});
