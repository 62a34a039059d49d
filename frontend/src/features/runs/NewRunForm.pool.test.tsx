import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { Environment, EnvironmentList } from '../../api/types';
import { apiError, json, makeRun, mockApi, renderWithProviders } from '../../test/utils';
import { NewRunForm } from './NewRunForm';

function env(id: number, over: Partial<Environment> = {}): Environment {
  return { id, name: `env${id}`, state: 'idle', running_run_id: null, queued_run_ids: [], description: '', labels: [], url: '', variables: {}, hold: null, ...over };
}

const list: EnvironmentList = {
  items: Array.from({ length: 100 }, (_, i) => env(i + 1)).map((e) =>
    e.id === 11
      ? { ...e, state: 'held', labels: ['staging'], hold: { held_by: 'carol', reason: 'debugging', since: '2026-11-25T10:00:00Z', until: null } }
      : e.id === 12
        ? { ...e, state: 'busy', running_run_id: 40, labels: ['eu', 'staging'] }
        : e,
  ),
  pools: [
    { name: 'eu', environment_ids: [12], queued_run_ids: [] },
    { name: 'staging', environment_ids: [11, 12], queued_run_ids: [50] },
  ],
  worker_slots: { workers: 1, total: 8, busy: 1 },
  waiting_for_capacity: 0,
};
const testFiles = { items: [{ path: 'sample-tests/test_success.py', directory: 'sample-tests', size_bytes: 120, modified_at: '2026-11-25T10:00:00Z' }] };

function Harness() {
  const [files, setFiles] = useState<string[]>([]);
  return <NewRunForm selectedFiles={files} onSelectedFilesChange={setFiles} />;
}

async function choosePool(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText('Username'), 'alice');
  await user.click(screen.getByRole('radio', { name: 'Any environment of a pool' }));
  expect(screen.queryByLabelText('Environment')).not.toBeInTheDocument();
  await screen.findByRole('option', { name: 'staging — 2 environments, 0 free, 1 waiting' });
  await user.selectOptions(screen.getByLabelText('Pool'), 'staging');
  await user.click(await screen.findByRole('checkbox', { name: 'sample-tests/test_success.py' }));
}

describe('NewRunForm with pools', () => {
  it('starts a run on a pool, with the pool instead of an environment', async () => {
    const { requests } = mockApi({
      'GET /api/environments': () => json(list),
      'GET /api/test-files': () => json(testFiles),
      'POST /api/runs': () => json(makeRun({ id: 60, status: 'queued', environment_id: null, pool: 'staging', queue_position: 2, started_at: null, finished_at: null, duration_ms: null, exit_code: null }), 201),
    });
    renderWithProviders(<Harness />);
    const user = userEvent.setup();
    await choosePool(user);
    expect(screen.getByLabelText('Pool')).toHaveAccessibleDescription(
      'Your run takes the first staging environment that becomes free, after 1 run already waiting for the pool.',
    );
    expect(screen.getByRole('option', { name: 'eu — 1 environment, 0 free' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    expect(await screen.findByText(/queued in any staging \(#2 in line\)/)).toBeInTheDocument();
    const post = requests.find((r) => r.method === 'POST')!;
    expect(await post.request.json()).toEqual({ requested_by: 'alice', pool: 'staging', test_files: ['sample-tests/test_success.py'] });
  });

  it('asks for a pool before sending, and shows the server refusing one next to it', async () => {
    const { requests } = mockApi({
      'GET /api/environments': () => json(list),
      'GET /api/test-files': () => json(testFiles),
      'POST /api/runs': () => apiError(400, 'invalid', 'The request has invalid fields.', { pool: 'has no environments: no environment carries the label staging' }),
    });
    renderWithProviders(<Harness />);
    const user = userEvent.setup();
    await user.click(screen.getByRole('radio', { name: 'Any environment of a pool' }));
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    expect(screen.getByText('Choose a pool.')).toBeInTheDocument();
    expect(screen.queryByText('Choose an environment.')).not.toBeInTheDocument();
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(0);

    await choosePool(user);
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    const pool = screen.getByLabelText('Pool');
    expect(await screen.findByText('has no environments: no environment carries the label staging')).toBeInTheDocument();
    expect(pool).toHaveAttribute('aria-invalid', 'true');
    expect(pool).toHaveFocus();
  });

  it('says a held environment is held, by whom and why', async () => {
    mockApi({ 'GET /api/environments': () => json(list), 'GET /api/test-files': () => json(testFiles) });
    renderWithProviders(<Harness />);
    const user = userEvent.setup();
    await screen.findByRole('option', { name: 'env11 — held by carol [staging]' });
    await user.selectOptions(screen.getByLabelText('Environment'), '11');
    expect(screen.getByLabelText('Environment')).toHaveAccessibleDescription(
      'env11 is held by carol (debugging) until released: your run will be #1 in line, and it starts after the hold ends.',
    );
  });

  it('says so when no environment has a label yet', async () => {
    mockApi({ 'GET /api/environments': () => json({ ...list, pools: [] }), 'GET /api/test-files': () => json(testFiles) });
    renderWithProviders(<Harness />);
    const user = userEvent.setup();
    await user.click(screen.getByRole('radio', { name: 'Any environment of a pool' }));
    expect(await screen.findByText(/No environment has a label yet/)).toBeInTheDocument();
    expect(screen.getByLabelText('Pool')).toBeDisabled();
  });
});
