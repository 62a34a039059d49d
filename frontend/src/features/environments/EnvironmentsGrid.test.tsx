import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../api/types';
import { json, mockApi, renderWithProviders } from '../../test/utils';
import { EnvironmentsGrid } from './EnvironmentsGrid';

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
});
