import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes, useLocation } from 'react-router';
import { describe, expect, it } from 'vitest';
import { json, makeRun, mockApi, renderWithProviders } from '../../test/utils';
import { RunsPanel } from './RunsPanel';

function LocationProbe() {
  const location = useLocation();
  return <output data-testid="location">{location.search}</output>;
}

function App() {
  return (
    <Routes>
      <Route
        path="/"
        element={
          <>
            <RunsPanel />
            <LocationProbe />
          </>
        }
      />
    </Routes>
  );
}

describe('RunsPanel', () => {
  it('sends the URL filters to the API, shows the total and pages with next_cursor', async () => {
    const { requests } = mockApi({
      'GET /api/runs': (_req, url) =>
        url.searchParams.get('cursor') === 'c2'
          ? json({ items: [makeRun({ id: 3 })], next_cursor: null, total: 3 })
          : json({ items: [makeRun({ id: 9 }), makeRun({ id: 8 })], next_cursor: 'c2', total: 3 }),
    });
    renderWithProviders(<App />, {
      route: '/?status=success&status=failed&environment_id=7&requested_by=alice&test_file=pay&from=2026-11-01&to=2026-11-30&limit=50',
    });

    expect(await screen.findByRole('link', { name: '#9' })).toBeInTheDocument();
    const first = requests[0]!.url.searchParams;
    expect(first.getAll('status')).toEqual(['success', 'failed']);
    expect(first.get('environment_id')).toBe('7');
    expect(first.get('requested_by')).toBe('alice');
    expect(first.get('test_file')).toBe('pay');
    expect(first.get('limit')).toBe('50');
    // Whole days in the reader's time zone.
    expect(Date.parse(first.get('created_after')!)).toBe(new Date('2026-11-01T00:00:00').getTime());
    expect(Date.parse(first.get('created_before')!)).toBe(new Date('2026-11-30T23:59:59.999').getTime());
    expect(screen.getByRole('button', { name: 'success' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('button', { name: 'queued' })).toHaveAttribute('aria-pressed', 'false');
    expect(screen.getByLabelText('Username')).toHaveValue('alice');
    expect(screen.getByTestId('runs-total')).toHaveTextContent('3 runs match');
    expect(screen.getByRole('button', { name: '← Newer' })).toBeDisabled();

    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Next →' }));
    expect(await screen.findByRole('link', { name: '#3' })).toBeInTheDocument();
    expect(screen.getByTestId('location').textContent).toContain('cursor=c2');
    expect(screen.getByRole('button', { name: 'Next →' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: '← Newer' }));
    expect(await screen.findByRole('link', { name: '#9' })).toBeInTheDocument();
    expect(screen.getByTestId('location').textContent).not.toContain('cursor');
  });

  it('keeps filters in the query string and shows an empty state', async () => {
    mockApi({
      'GET /api/runs': (_req, url) =>
        url.searchParams.get('status') === 'cancelled'
          ? json({ items: [], next_cursor: null, total: 0 })
          : json({ items: [makeRun({ id: 1 })], next_cursor: null, total: 1 }),
    });
    renderWithProviders(<App />);
    expect(await screen.findByRole('link', { name: '#1' })).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'cancelled' }));
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('?status=cancelled'));
    expect(await screen.findByText('No runs match these filters.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'error' }));
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('?status=error&status=cancelled'));
    await user.click(screen.getByRole('button', { name: 'error' }));
    await user.type(screen.getByLabelText('Username'), 'bob{Enter}');
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('?status=cancelled&requested_by=bob'));
    await user.click(screen.getAllByRole('button', { name: 'Clear filters' })[0]!);
    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe(''));
    expect(screen.getByLabelText('Username')).toHaveValue('');
  });

  it("lists a run's reruns from the URL, and shows all runs again in one click", async () => {
    const { requests } = mockApi({
      'GET /api/runs': (_req, url) =>
        url.searchParams.get('rerun_of') === '8'
          ? json({ items: [makeRun({ id: 12, rerun_of: 8 })], next_cursor: null, total: 1 })
          : json({ items: [makeRun({ id: 12, rerun_of: 8 }), makeRun({ id: 8 })], next_cursor: null, total: 2 }),
    });
    renderWithProviders(<App />, { route: '/?rerun_of=8' });
    const chip = await screen.findByTestId('rerun-of-filter');
    expect(chip).toHaveTextContent('Reruns of #8');
    expect(await screen.findByText('1 run match')).toBeInTheDocument();
    expect(requests[0]!.url.searchParams.get('rerun_of')).toBe('8');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Show all runs' }));
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent(/^$/));
    expect(await screen.findByText('2 runs')).toBeInTheDocument();
    expect(screen.queryByTestId('rerun-of-filter')).not.toBeInTheDocument();
  });
});
