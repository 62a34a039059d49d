import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../api/types';
import { json, mockApi, renderWithProviders } from '../../test/utils';
import { EnvironmentsGrid } from './EnvironmentsGrid';
import { makeEnvironmentList } from './fixtures';

describe('EnvironmentsGrid', () => {
  it('shows idle/busy, the running run, the queue, and colours by contention', async () => {
    const items: Environment[] = Array.from({ length: 100 }, (_, i) => ({
      id: i + 1,
      name: `env${i + 1}`,
      state: 'idle',
      running_run_id: null,
      queued_run_ids: [],
      description: '',
      labels: [],
      url: '',
      variables: {},
      hold: null,
    }));
    items[2] = { ...items[2]!, state: 'busy', running_run_id: 10 };
    items[4] = { ...items[4]!, state: 'busy', running_run_id: 11, queued_run_ids: [12, 13, 14, 15, 16, 17, 18, 19] };
    mockApi({
      'GET /api/environments': () => json({ items, pools: [], worker_slots: { workers: 1, total: 8, busy: 2 }, waiting_for_capacity: 0 }),
    });
    const { container } = renderWithProviders(<EnvironmentsGrid />);

    await screen.findByText('env100');
    expect(container.querySelectorAll('ul.env-grid > li.env-tile')).toHaveLength(100);
    expect(screen.getByText(/busy ·/).textContent).toMatch(/2 busy · 98 idle · 8 runs waiting in 1 environment/);

    const env3 = container.querySelector('[data-env-id="3"]')!;
    expect(env3).toHaveClass('env-tile--heat-1');
    expect(within(env3 as HTMLElement).getByRole('link', { name: '#10' })).toHaveAttribute('href', '/runs/10');

    const env5 = container.querySelector('[data-env-id="5"]') as HTMLElement;
    expect(env5).toHaveClass('env-tile--heat-7');
    expect(within(env5).getByText('8 waiting:')).toBeInTheDocument();
    expect(within(env5).getByRole('link', { name: '#12' })).toHaveAttribute('href', '/runs/12');
    expect(within(env5).getByText('+5')).toBeInTheDocument();

    expect(container.querySelector('[data-env-id="1"]')).toHaveClass('env-tile--heat-0');
    // Polled every second: a live region here would be read out every second.
    expect(container.querySelector('[aria-live]:not([aria-live="off"]), [role="status"], [role="log"]')).toBeNull();
  });

  it('shows labels and holds, says what waits for a worker, and filters by pool and state', async () => {
    const data = makeEnvironmentList(
      {
        11: { state: 'held', labels: ['staging'], queued_run_ids: [30], hold: { held_by: 'carol', reason: 'debugging', since: '2026-11-25T10:00:00Z', until: null } },
        12: { state: 'busy', running_run_id: 31, labels: ['eu', 'staging'] },
        13: { state: 'waiting', queued_run_ids: [32], labels: ['eu'] },
      },
      { waiting_for_capacity: 1, worker_slots: { workers: 2, total: 2, busy: 2 } },
    );
    data.pools = data.pools.map((p) => (p.name === 'staging' ? { ...p, queued_run_ids: [33] } : p));
    mockApi({ 'GET /api/environments': () => json(data) });
    const { container } = renderWithProviders(<EnvironmentsGrid />, { route: '/environments' });
    await screen.findByText('env100');
    expect(screen.getByText(/busy ·/)).toHaveTextContent('1 busy · 97 idle · 1 held · 1 waiting for a worker · 2 runs waiting in 2 environments · 1 run waiting for a pool');
    expect(screen.getByTestId('worker-slots')).toHaveTextContent('2 of 2 worker slots busy on 2 workers · 1 run waiting for a free slot');

    const env11 = container.querySelector('[data-env-id="11"]') as HTMLElement;
    expect(within(env11).getByText('held')).toHaveClass('env-state--held');
    expect(within(env11).getByText('Held by carol until released')).toHaveAttribute('title', 'debugging');
    expect(within(env11).getByRole('list', { name: 'Labels' })).toHaveTextContent('staging');
    expect(within(env11).getByRole('link', { name: 'Manage env11' })).toHaveAttribute('href', '/environments/11');
    // Never "idle" while a run waits for a worker.
    expect(within(container.querySelector('[data-env-id="13"]') as HTMLElement).getByText('waiting')).toHaveClass('env-state--waiting');

    // Runs waiting for a pool are not in any environment's queue: the pools list shows them.
    const pools = screen.getByRole('region', { name: 'Pools' });
    expect(within(pools).getByRole('link', { name: 'Show the staging pool' }).closest('li')).toHaveTextContent('staging 2 environments · 1 waiting: #33');
    expect(within(pools).getByRole('link', { name: '#33' })).toHaveAttribute('href', '/runs/33');

    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText('Pool'), 'staging');
    expect(screen.getByRole('option', { name: 'staging (2, 1 waiting)' })).toBeInTheDocument();
    expect([...container.querySelectorAll('li.env-tile')].map((e) => e.getAttribute('data-env-id'))).toEqual(['11', '12']);
    expect(screen.getByRole('list', { name: 'Environments (2 of 100)' })).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('State'), 'held');
    expect([...container.querySelectorAll('li.env-tile')].map((e) => e.getAttribute('data-env-id'))).toEqual(['11']);
    await user.selectOptions(screen.getByLabelText('Pool'), 'eu');
    expect(screen.getByText('No environment matches')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Show all environments' }));
    expect(container.querySelectorAll('li.env-tile')).toHaveLength(100);
  });
});
