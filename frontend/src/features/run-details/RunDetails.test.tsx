import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { setApiToken } from '../../api/auth';
import { apiError, json, makeRun, mockApi, renderWithProviders } from '../../test/utils';
import { RunDetails } from './RunDetails';

const running = makeRun({
  id: 8,
  status: 'running',
  exit_code: null,
  finished_at: null,
  duration_ms: null,
  progress: { completed: 2, total: 5 },
  summary: null,
});

function App() {
  return (
    <Routes>
      <Route path="/runs/8" element={<RunDetails runId={8} />} />
      <Route path="/runs/9" element={<p>Run 9 page</p>} />
      <Route path="/runs/12" element={<RunDetails runId={12} />} />
    </Routes>
  );
}

describe('RunDetails', () => {
  it('shows progress, and cancels after confirmation with the API token', async () => {
    let current = running;
    setApiToken('s3cret');
    const { requests } = mockApi({
      'GET /api/runs/8': () => json(current),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 0, text: '', complete: false }),
      'POST /api/runs/8/cancel': () => {
        current = { ...running, status: 'cancelled', reason: 'cancelled_by_user', progress: null };
        return json(current);
      },
    });
    renderWithProviders(<App />, { route: '/runs/8' });
    expect(await screen.findByRole('progressbar', { name: 'Tests completed' })).toHaveAttribute('aria-valuenow', '2');

    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Cancel run' }));
    expect(requests.some((r) => r.method === 'POST')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Yes, cancel' }));
    expect(await screen.findByText('Cancelled by a user')).toBeInTheDocument();
    const post = requests.find((r) => r.method === 'POST')!;
    expect(post.request.headers.get('Authorization')).toBe('Bearer s3cret');
    expect(screen.queryByRole('button', { name: 'Cancel run' })).not.toBeInTheDocument();
  });

  it('explains a 401 and a 409', async () => {
    let status = 401;
    mockApi({
      'GET /api/runs/8': () => json(running),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 0, text: '', complete: false }),
      'POST /api/runs/8/cancel': () =>
        status === 401
          ? apiError(401, 'unauthorized', 'This server requires an API token.')
          : apiError(409, 'conflict', 'Run 8 has already finished.'),
    });
    renderWithProviders(<App />, { route: '/runs/8' });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Cancel run' }));
    await user.click(screen.getByRole('button', { name: 'Yes, cancel' }));
    expect(await screen.findByText(/requires an API token for changes/)).toBeInTheDocument();
    status = 409;
    await user.click(screen.getByRole('button', { name: 'Cancel run' }));
    await user.click(screen.getByRole('button', { name: 'Yes, cancel' }));
    expect(await screen.findByText(/can no longer be cancelled: Run 8 has already finished/)).toBeInTheDocument();
  });

  it('reruns as the remembered user and opens the new run', async () => {
    window.localStorage.setItem('baton.username', 'dave');
    const { requests } = mockApi({
      'GET /api/runs/8': () => json(makeRun({ id: 8 })),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 3, text: 'ok\n', complete: true }),
      'GET /api/runs/8/tests': () =>
        json({
          items: [
            { node_id: 'sample-tests/test_success.py::test_ok', outcome: 'passed', duration_ms: 3, message: '' },
            { node_id: 'sample-tests/test_success.py::test_bad', outcome: 'failed', duration_ms: 5, message: 'assert 1 == 2' },
          ],
          summary: { passed: 1, failed: 1, errors: 0, skipped: 0, total: 2 },
        }),
      'POST /api/runs/8/rerun': () => json(makeRun({ id: 9, status: 'queued' }), 201),
    });
    renderWithProviders(<App />, { route: '/runs/8' });
    // Failed tests come first with their message open.
    expect(await screen.findByText('assert 1 == 2')).toBeInTheDocument();
    expect(screen.getByText('sample-tests/test_success.py::test_ok')).toBeInTheDocument();

    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Rerun' }));
    expect(await screen.findByText('Run 9 page')).toBeInTheDocument();
    const post = requests.find((r) => r.method === 'POST')!;
    await waitFor(async () => expect(await post.request.clone().json()).toEqual({ requested_by: 'dave' }));
  });

  it('cancels as the remembered user and says who cancelled', async () => {
    window.localStorage.setItem('baton.username', 'dave');
    let current = running;
    const { requests } = mockApi({
      'GET /api/runs/8': () => json(current),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 0, text: '', complete: false }),
      'POST /api/runs/8/cancel': () => {
        current = { ...running, status: 'cancelled', reason: 'cancelled_by_user', progress: null, cancelled_by: 'dave' };
        return json(current);
      },
    });
    renderWithProviders(<App />, { route: '/runs/8' });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Cancel run' }));
    await user.click(screen.getByRole('button', { name: 'Yes, cancel' }));
    expect(await screen.findByText('Cancelled by dave')).toBeInTheDocument();
    expect(within(screen.getByTestId('run-header')).getByText(/cancelled by dave/)).toBeInTheDocument();
    const post = requests.find((r) => r.method === 'POST')!;
    expect(await post.request.clone().json()).toEqual({ cancelled_by: 'dave' });
  });

  it('links a rerun to its original, says what it reruns, and lists the reruns of a run', async () => {
    const rerun = makeRun({
      id: 12,
      requested_by: 'bob',
      rerun_of: 8,
      tests: ['sample-tests/test_success.py::test_bad'],
      test_files: ['sample-tests/test_success.py'],
    });
    const { requests } = mockApi({
      'GET /api/runs/12': () => json(rerun),
      'GET /api/runs/12/log': () => json({ offset: 0, next_offset: 3, text: 'ok\n', complete: true }),
      'GET /api/runs/12/tests': () => json({ items: [], summary: rerun.summary }),
      'GET /api/runs/8': () => json(makeRun({ id: 8, status: 'failed', requested_by: 'alice', reason: 'tests_failed', exit_code: 1 })),
      'GET /api/runs': (_req, url) =>
        url.searchParams.get('rerun_of') === '12'
          ? json({ items: [makeRun({ id: 14, status: 'running', rerun_of: 12, requested_by: 'carol', finished_at: null, duration_ms: null })], next_cursor: null, total: 1 })
          : json({ items: [], next_cursor: null, total: 0 }),
    });
    renderWithProviders(<App />, { route: '/runs/12' });
    const header = await screen.findByTestId('run-header');
    expect(within(header).getByRole('link', { name: 'Rerun of #8' })).toHaveAttribute('href', '/runs/8');
    // The original, with its status and user, in the summary.
    const original = await screen.findByRole('link', { name: 'Run #8' });
    expect(original).toHaveAttribute('href', '/runs/8');
    expect(await within(original.parentElement!).findByText('failed')).toBeInTheDocument();
    expect(within(original.parentElement!).getByText('by alice')).toBeInTheDocument();
    // What it reruns: the single test it was narrowed to.
    expect(screen.getByText('sample-tests/test_success.py::test_bad')).toBeInTheDocument();
    expect(screen.getByText(/Only this test/)).toBeInTheDocument();
    // Its own reruns.
    expect(await screen.findByText('Reruns (1)')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: '#14' })).toHaveAttribute('href', '/runs/14');
    expect(requests.some((r) => r.url.pathname === '/api/runs' && r.url.searchParams.get('rerun_of') === '12')).toBe(true);
  });

  it("moves an ended run's relative times on with the clock, with the exact time and zone on hover", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const finished = new Date(Date.now() - 20_000).toISOString();
      mockApi({
        'GET /api/runs/8': () => json(makeRun({ id: 8, finished_at: finished })),
        'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 3, text: 'ok\n', complete: true }),
        'GET /api/runs/8/tests': () => json({ items: [], summary: null }),
      });
      renderWithProviders(<App />, { route: '/runs/8' });
      const time = await screen.findByText(/^2\d s ago$/);
      expect(time).toHaveAttribute('dateTime', finished);
      // The zone is part of the exact time (timeStyle long).
      expect(time.getAttribute('title')).toMatch(/\d{1,2}:\d{2}:\d{2}.*(UTC|GMT|[A-Z]{2,5})/);
      // No poll refreshes an ended run; the clock still moves its "ago" on.
      await act(() => vi.advanceTimersByTimeAsync(70_000));
      expect(time).toHaveTextContent('1 min ago');
    } finally {
      vi.useRealTimers();
    }
  });

  it('says a run that never started ran no test', async () => {
    mockApi({
      'GET /api/runs/8': () =>
        json(makeRun({ id: 8, status: 'cancelled', reason: 'cancelled_by_user', started_at: null, exit_code: null, duration_ms: null, summary: null, progress: null })),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 30, text: '=== cancelled before it started ===\n', complete: true }),
      'GET /api/runs/8/tests': () => json({ items: [], summary: null }),
    });
    renderWithProviders(<App />, { route: '/runs/8' });
    expect(await screen.findByText('The run never started, so no test ran.')).toBeInTheDocument();
    // No duration to show: the header does not start with a dash.
    expect(within(screen.getByTestId('run-header')).queryByText('—')).not.toBeInTheDocument();
  });

  it('asks who reruns when this browser does not know, rather than filing it under the original user', async () => {
    const { requests } = mockApi({
      'GET /api/runs/8': () => json(makeRun({ id: 8, requested_by: 'alice' })),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 3, text: 'ok\n', complete: true }),
      'GET /api/runs/8/tests': () => json({ items: [], summary: null }),
      'POST /api/runs/8/rerun': () => json(makeRun({ id: 9, status: 'queued', requested_by: 'erin', rerun_of: 8 }), 201),
    });
    renderWithProviders(<App />, { route: '/runs/8' });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Rerun' }));
    const form = screen.getByRole('form', { name: 'Rerun as' });
    const name = within(form).getByRole('textbox', { name: 'Rerun as' });
    expect(name).toHaveFocus();
    await user.click(within(form).getByRole('button', { name: 'Rerun' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('Enter your name');
    expect(name).toHaveFocus();
    expect(requests.some((r) => r.method === 'POST')).toBe(false);
    await user.type(name, ' erin {Enter}');
    expect(await screen.findByText('Run 9 page')).toBeInTheDocument();
    const post = requests.find((r) => r.method === 'POST')!;
    expect(await post.request.clone().json()).toEqual({ requested_by: 'erin' });
    expect(window.localStorage.getItem('baton.username')).toBe('erin');
  });

  it('takes an optional name with a cancel when this browser does not know its user', async () => {
    let current = running;
    const { requests } = mockApi({
      'GET /api/runs/8': () => json(current),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 0, text: '', complete: false }),
      'POST /api/runs/8/cancel': () => {
        current = { ...running, status: 'cancelled', reason: 'cancelled_by_user', progress: null, cancelled_by: 'frank' };
        return json(current);
      },
    });
    renderWithProviders(<App />, { route: '/runs/8' });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Cancel run' }));
    await user.type(screen.getByRole('textbox', { name: /Your name/ }), 'frank');
    await user.click(screen.getByRole('button', { name: 'Yes, cancel' }));
    expect(await screen.findByText('Cancelled by frank')).toBeInTheDocument();
    const post = requests.find((r) => r.method === 'POST')!;
    expect(await post.request.clone().json()).toEqual({ cancelled_by: 'frank' });
  });
});
