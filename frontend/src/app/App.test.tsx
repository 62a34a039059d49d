import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { json, makeRun, mockApi, renderWithProviders } from '../test/utils';
import { AppRoutes } from './App';

describe('API-down banner', () => {
  it('appears when the API cannot be reached and goes away when it answers again', async () => {
    let down = true;
    const ok = mockApi({
      'GET /api/runs': () => json({ items: [makeRun({ id: 77 })], next_cursor: null, total: 1 }),
      'GET /api/environments': () => json({ items: [] }),
      'GET /api/test-files': () => json({ items: [] }),
      'GET /api/test-directories': () => json({ items: [] }),
    }).fetchMock;
    vi.stubGlobal(
      'fetch',
      vi.fn((input: RequestInfo | URL, init?: RequestInit) => (down ? Promise.reject(new TypeError('Failed to fetch')) : ok(input, init))),
    );

    const { client } = renderWithProviders(<AppRoutes />);
    expect(await screen.findByText('Cannot reach the Baton API — retrying…')).toBeInTheDocument();
    // The page is still there, not blank, and its actions wait for the API.
    expect(screen.getByRole('button', { name: 'New run' })).toBeDisabled();
    expect(await screen.findByText('Could not load runs')).toBeInTheDocument();

    down = false;
    await client.refetchQueries();
    await waitFor(() => expect(screen.queryByText('Cannot reach the Baton API — retrying…')).not.toBeInTheDocument());
    expect(await screen.findByRole('link', { name: '#77' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'New run' })).toBeEnabled();
  });

  it('says so when the API answers 503 (database down)', async () => {
    mockApi({
      'GET /api/environments': () => json({ error: { code: 'unavailable', message: 'The database cannot be reached.' } }, 503),
    });
    renderWithProviders(<AppRoutes />, { route: '/environments' });
    expect(await screen.findByText('The Baton API cannot reach its database — retrying…')).toBeInTheDocument();
  });
});

describe('routes', () => {
  it('renders the run details page with the log', async () => {
    mockApi({
      'GET /api/runs/31': () => json(makeRun({ id: 31, requested_by: 'carol', environment_id: 12, exit_code: 0 })),
      'GET /api/runs/31/log': () => json({ offset: 0, next_offset: 20, text: '===== 1 passed =====', complete: true }),
    });
    renderWithProviders(<AppRoutes />, { route: '/runs/31' });
    expect(await screen.findByRole('heading', { name: /Run #31/ })).toBeInTheDocument();
    expect(screen.getByText('carol')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'env12' })).toHaveAttribute('href', '/?environment_id=12');
    expect(screen.getByText('sample-tests/test_success.py')).toBeInTheDocument();
    expect(await screen.findByText('===== 1 passed =====')).toBeInTheDocument();
    expect(screen.getByText(/Complete ·/)).toBeInTheDocument();
  });

  it('says when a run does not exist', async () => {
    mockApi({});
    renderWithProviders(<AppRoutes />, { route: '/runs/999' });
    expect(await screen.findByText('Run #999 does not exist')).toBeInTheDocument();
  });
});

describe('tab titles', () => {
  it('name the page, so several Baton tabs can be told apart', async () => {
    mockApi({
      'GET /api/runs': () => json({ items: [], next_cursor: null, total: 0 }),
      'GET /api/environments': () => json({ items: [] }),
      'GET /api/test-files': () => json({ items: [] }),
      'GET /api/test-directories': () => json({ items: [] }),
    });
    const { unmount } = renderWithProviders(<AppRoutes />, { route: '/environments' });
    await waitFor(() => expect(document.title).toBe('Environments · Baton'));
    unmount();
    renderWithProviders(<AppRoutes />, { route: '/' });
    await waitFor(() => expect(document.title).toBe('Runs · Baton'));
  });
});
