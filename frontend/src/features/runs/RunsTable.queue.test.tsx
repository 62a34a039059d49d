import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { makeRun, renderWithProviders } from '../../test/utils';
import { RunsTable } from './RunsTable';

const NOW = Date.parse('2026-11-25T10:05:00Z');
const queued = { status: 'queued' as const, started_at: null, finished_at: null, duration_ms: null, exit_code: null, progress: null, summary: null };

describe('RunsTable queues', () => {
  it('says what a queued run waits for and when it should start; a pooled run shows its pool and, once claimed, its environment', () => {
    const runs = [
      makeRun({ ...queued, id: 9, environment_id: null, pool: 'staging', queue_position: 1, waiting_for: { kind: 'pool', pool: 'staging' }, eta_seconds: 70 }),
      makeRun({ ...queued, id: 8, environment_id: 11, queue_position: 1, waiting_for: { kind: 'hold', environment_id: 11, held_by: 'carol', until: null } }),
      makeRun({ id: 7, environment_id: 12, pool: 'staging', status: 'running', started_at: '2026-11-25T10:04:00Z', finished_at: null, duration_ms: null }),
    ];
    renderWithProviders(<RunsTable runs={runs} now={NOW} />);
    const row = (id: number) => screen.getByRole('link', { name: `#${id}` }).closest('tr')!;
    expect(within(row(9)).getByText('any staging')).toBeInTheDocument();
    expect(row(9)).toHaveTextContent('Waits: every staging environment is busy or held · starts in about 1 min');
    expect(row(8)).toHaveTextContent('Waits: env11 is held by carol until released · no start time while the hold lasts');
    expect(within(row(7)).getByText('env12 (staging)')).toBeInTheDocument();
    expect(row(7).querySelector('.queue-note')).toBeNull();
  });

  it('hides the wait while the API is not answering (it may be out of date)', () => {
    renderWithProviders(<RunsTable runs={[makeRun({ ...queued, waiting_for: { kind: 'capacity' } })]} now={NOW} stale />);
    expect(screen.queryByText(/Waits for a free worker slot/)).not.toBeInTheDocument();
  });
});
