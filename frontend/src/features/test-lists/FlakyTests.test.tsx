import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { TestStats } from '../../api/types';
import { json, mockApi, renderWithProviders } from '../../test/utils';
import { FlakyTests } from './FlakyTests';

const stats = (over: Partial<TestStats>): TestStats => ({
  node_id: 'sample-tests/test_x.py::test_flips',
  window: 20,
  last_run_id: 9,
  last_outcome: 'failed',
  last_seen_at: '2026-11-30T10:00:00Z',
  results: 3,
  passed: 2,
  failed: 1,
  skipped: 0,
  flips: 2,
  flip_pairs: 2,
  flip_rate: 1,
  flaky: true,
  duration_p50_ms: 10,
  duration_mean_ms: 10,
  previous_mean_ms: null,
  duration_change: null,
  recent: [
    { run_id: 7, outcome: 'passed', duration_ms: 10 },
    { run_id: 8, outcome: 'failed', duration_ms: 11 },
    { run_id: 9, outcome: 'passed', duration_ms: 9 },
  ],
  ...over,
});

describe('FlakyTests', () => {
  it('ranks by flip rate, links each test to its history and each square to its run', async () => {
    const { requests } = mockApi({
      'GET /api/tests/flaky': () =>
        json({ window: 20, since: '2026-11-01T00:00:00Z', items: [stats({}), stats({ node_id: 'a/test_y.py::test_once', flip_rate: 0.25 })] }),
    });
    renderWithProviders(<FlakyTests />);
    const table = await screen.findByRole('table', { name: 'Flaky tests by flip rate' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    const link = within(rows[0]!).getByRole('link', { name: 'sample-tests/test_x.py::test_flips' });
    expect(link).toHaveAttribute('href', '/tests/history?node_id=sample-tests%2Ftest_x.py%3A%3Atest_flips');
    expect(within(rows[0]!).getByText('flaky')).toBeInTheDocument();
    expect(within(rows[0]!).getByRole('link', { name: 'Run #8: failed, 11 ms' })).toHaveAttribute('href', '/runs/8');
    expect(within(rows[1]!).getByText('25%')).toBeInTheDocument();
    expect(requests[0]!.url.searchParams.get('window')).toBe('30d');
  });

  it('says so when nothing is flaky', async () => {
    mockApi({ 'GET /api/tests/flaky': () => json({ window: 20, since: '2026-11-01T00:00:00Z', items: [] }) });
    renderWithProviders(<FlakyTests />);
    expect(await screen.findByText('No flaky tests')).toBeInTheDocument();
  });
});
