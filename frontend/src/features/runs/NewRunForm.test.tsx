import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { apiError, json, makeRun, mockApi, renderWithProviders } from '../../test/utils';
import { NewRunForm } from './NewRunForm';

const environments = {
  items: Array.from({ length: 100 }, (_, i) => ({
    id: i + 1,
    name: `env${i + 1}`,
    state: i + 1 === 7 ? 'busy' : 'idle',
    running_run_id: i + 1 === 7 ? 40 : null,
    queued_run_ids: i + 1 === 7 ? [41, 42] : [],
  })),
};
const testFiles = {
  items: [
    { path: 'sample-tests/test_success.py', directory: 'sample-tests', size_bytes: 120, modified_at: '2026-11-25T10:00:00Z' },
    { path: 'sample-tests/test_fail.py', directory: 'sample-tests', size_bytes: 99, modified_at: '2026-11-25T10:00:00Z' },
    { path: 'uploads/payments/test_pay.py', directory: 'uploads/payments', size_bytes: 42, modified_at: '2026-11-25T10:00:00Z' },
  ],
};

function Harness() {
  const [files, setFiles] = useState<string[]>([]);
  return <NewRunForm selectedFiles={files} onSelectedFilesChange={setFiles} />;
}

async function fillForm() {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('Username'), 'alice');
  await screen.findByText('env7 — busy, 2 waiting');
  await user.selectOptions(screen.getByLabelText('Environment'), '7');
  await user.click(await screen.findByRole('checkbox', { name: 'sample-tests/test_success.py' }));
  await user.click(screen.getByRole('button', { name: 'Start run' }));
  return user;
}

describe('NewRunForm', () => {
  it('lists environments with their state and groups test files by directory', async () => {
    mockApi({ 'GET /api/environments': () => json(environments), 'GET /api/test-files': () => json(testFiles) });
    renderWithProviders(<Harness />);
    expect(await screen.findByText('env7 — busy, 2 waiting')).toBeInstanceOf(HTMLOptionElement);
    expect(screen.getByText('env8 — idle')).toBeInstanceOf(HTMLOptionElement);
    expect(await screen.findByRole('group', { name: /uploads\/payments/ })).toBeInTheDocument();
    expect(screen.getByRole('group', { name: /sample-tests/ })).toBeInTheDocument();

    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Filter test files'), 'pay');
    expect(screen.queryByRole('checkbox', { name: 'sample-tests/test_success.py' })).not.toBeInTheDocument();
    expect(screen.getByRole('checkbox', { name: 'uploads/payments/test_pay.py' })).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText('Environment'), '7');
    expect(screen.getByText(/env7 is busy running #40 with 2 runs waiting: your run will be #3 in line/)).toBeInTheDocument();
  });

  it('shows the server validation errors next to their fields', async () => {
    const { requests } = mockApi({
      'GET /api/environments': () => json(environments),
      'GET /api/test-files': () => json(testFiles),
      'POST /api/runs': () =>
        apiError(400, 'invalid', 'The request has invalid fields.', {
          requested_by: 'must not contain control characters',
          environment_id: 'must be between 1 and 100',
          test_files: 'sample-tests/test_success.py: no such test file',
        }),
    });
    renderWithProviders(<Harness />);
    await fillForm();

    const username = screen.getByLabelText('Username');
    expect(await screen.findByText('must not contain control characters')).toBeInTheDocument();
    expect(username).toHaveAttribute('aria-invalid', 'true');
    expect(username).toHaveAccessibleDescription('must not contain control characters');
    expect(screen.getByLabelText('Environment')).toHaveAccessibleDescription(expect.stringContaining('must be between 1 and 100'));
    expect(screen.getByText('sample-tests/test_success.py: no such test file')).toBeInTheDocument();
    // All three were field errors: no extra general message.
    expect(screen.queryByText('The run was not started')).not.toBeInTheDocument();

    const post = requests.find((r) => r.method === 'POST');
    expect(await post!.request.json()).toEqual({
      requested_by: 'alice',
      environment_id: 7,
      test_files: ['sample-tests/test_success.py'],
    });
  });

  it('shows other errors as a message', async () => {
    mockApi({
      'GET /api/environments': () => json(environments),
      'GET /api/test-files': () => json(testFiles),
      'POST /api/runs': () => apiError(413, 'too_large', 'The request body is larger than 1 MiB.'),
    });
    renderWithProviders(<Harness />);
    await fillForm();
    expect(await screen.findByText('The request body is larger than 1 MiB.')).toBeInTheDocument();
    expect(screen.getByText('The run was not started')).toBeInTheDocument();
  });

  it('validates locally before sending anything', async () => {
    const { requests } = mockApi({ 'GET /api/environments': () => json(environments), 'GET /api/test-files': () => json(testFiles) });
    renderWithProviders(<Harness />);
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Start run' }));
    expect(screen.getByText('Enter your name.')).toBeInTheDocument();
    expect(screen.getByText('Choose an environment.')).toBeInTheDocument();
    expect(screen.getByText('Select at least one test file.')).toBeInTheDocument();
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('links to the created run', async () => {
    mockApi({
      'GET /api/environments': () => json(environments),
      'GET /api/test-files': () => json(testFiles),
      'POST /api/runs': () => json(makeRun({ id: 43, status: 'queued', queue_position: 3, exit_code: null, started_at: null, finished_at: null, duration_ms: null }), 201),
    });
    renderWithProviders(<Harness />);
    await fillForm();
    const link = await screen.findByRole('link', { name: '#43' });
    expect(link).toHaveAttribute('href', '/runs/43');
    expect(screen.getByText(/queued in env7 \(#3 in line\)/)).toBeInTheDocument();
    await waitFor(() => expect(window.localStorage.getItem('baton.username')).toBe('alice'));
  });
});
