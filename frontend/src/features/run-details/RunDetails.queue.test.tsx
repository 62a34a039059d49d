import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, makeRun, mockApi, renderWithProviders } from '../../test/utils';
import { RunDetails } from './RunDetails';

const queued = { status: 'queued' as const, started_at: null, finished_at: null, duration_ms: null, exit_code: null, progress: null, summary: null };

describe('RunDetails of a queued run', () => {
  it('says what it waits for and when it should start, and follows it to the environment it got', async () => {
    let current = makeRun({ ...queued, id: 8, environment_id: null, pool: 'staging', queue_position: 2, waiting_for: { kind: 'run', run_id: 6 }, eta_seconds: 240 });
    mockApi({
      'GET /api/runs/8': () => json(current),
      'GET /api/runs/8/log': () => json({ offset: 0, next_offset: 0, text: '', complete: false }),
    });
    const { client } = renderWithProviders(<RunDetails runId={8} />, { route: '/runs/8' });
    const wait = await screen.findByText(/Waits behind run/);
    expect(wait.closest('dd')).toHaveTextContent('Waits behind run #6. It should start in about 4 min.');
    expect(screen.getByRole('link', { name: '#6' })).toHaveAttribute('href', '/runs/6');
    expect(document.querySelector('[data-field="environment"]')).toHaveTextContent('any staging · position 2 in line');

    current = makeRun({ id: 8, environment_id: 12, pool: 'staging', status: 'running', finished_at: null, duration_ms: null, summary: null });
    await client.refetchQueries();
    expect(await screen.findByRole('link', { name: 'env12 (staging)' })).toHaveAttribute('href', '/?environment_id=12');
    expect(screen.queryByText(/Waits behind run/)).not.toBeInTheDocument();
  });

  it('says why the environment it waits for is held', async () => {
    mockApi({
      'GET /api/runs/9': () => json(makeRun({ ...queued, id: 9, environment_id: 11, queue_position: 1, waiting_for: { kind: 'hold', environment_id: 11, held_by: 'carol', until: null } })),
      'GET /api/runs/9/log': () => json({ offset: 0, next_offset: 0, text: '', complete: false }),
      'GET /api/environments/11': () =>
        json({ id: 11, name: 'env11', state: 'held', running_run_id: null, queued_run_ids: [9], description: '', labels: [], url: '', variables: {}, hold: { held_by: 'carol', reason: 'debugging the payments sandbox', since: '2026-11-25T10:00:00Z', until: null } }),
    });
    renderWithProviders(<RunDetails runId={9} />, { route: '/runs/9' });
    const reason = await screen.findByText('debugging the payments sandbox');
    expect(reason.closest('dd')).toHaveTextContent(
      'Waits: env11 is held by carol until released (“debugging the payments sandbox”, see the hold). No start time: the hold lasts until someone releases it.',
    );
    expect(screen.getByRole('link', { name: 'see the hold' })).toHaveAttribute('href', '/environments/11');
  });
});
