import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../api/types';
import { apiError, json, mockApi, renderWithProviders } from '../../test/utils';
import { EnvironmentDetails } from './EnvironmentDetails';
import { makeEnvironment } from './fixtures';

const stored = makeEnvironment(12, {
  description: 'Staging in eu-west',
  labels: ['staging'],
  url: 'https://staging-12.example.com',
  variables: { API_KEY: { value: null, secret: true }, REGION: { value: 'eu-west-1', secret: false } },
});

function serve(initial: Environment, routes: Parameters<typeof mockApi>[0] = {}) {
  let current = initial;
  const api = mockApi({
    'GET /api/environments/12': () => json(current),
    'GET /api/environments': () => json({ items: [current], pools: [], worker_slots: { workers: 1, total: 8, busy: 0 }, waiting_for_capacity: 0 }),
    ...routes,
  });
  return { ...api, set: (env: Environment) => (current = env) };
}

describe('EnvironmentDetails: metadata', () => {
  it('shows a secret masked and write-only, and saves only what changed', async () => {
    const { requests, set } = serve(stored, {
      'PATCH /api/environments/12': async (request) => {
        const body = (await request.clone().json()) as { labels: string[] };
        const saved = { ...stored, labels: body.labels, variables: { ...stored.variables, TOKEN: { value: null, secret: true } } };
        set(saved);
        return json(saved);
      },
    });
    renderWithProviders(<EnvironmentDetails id={12} />);
    const form = await screen.findByRole('form', { name: 'Edit env12' });
    const secret = within(form).getByLabelText('Value of API_KEY');
    expect(secret).toHaveAttribute('type', 'password');
    expect(secret).toHaveValue('');
    expect(secret).toHaveAttribute('placeholder', '•••••• (secret, unchanged)');
    expect(within(form).getByLabelText('Value of REGION')).toHaveValue('eu-west-1');

    const user = userEvent.setup();
    await user.clear(within(form).getByLabelText('Labels'));
    await user.type(within(form).getByLabelText('Labels'), 'staging eu');
    await user.click(within(form).getByRole('button', { name: 'Add variable' }));
    await user.type(within(form).getByLabelText('Name of variable 3'), 'TOKEN');
    await user.click(within(form).getByRole('checkbox', { name: 'Secret (TOKEN)' }));
    await user.type(within(form).getByLabelText('Value of TOKEN'), 's3cr3t');
    expect(within(form).getByLabelText('Value of TOKEN')).toHaveAttribute('type', 'password');
    await user.click(within(form).getByRole('button', { name: 'Save changes' }));

    expect(await within(form).findByText('Saved env12.')).toBeInTheDocument();
    const patch = requests.find((r) => r.method === 'PATCH')!;
    expect(await patch.request.json()).toEqual({ labels: ['eu', 'staging'], variables: { TOKEN: { value: 's3cr3t', secret: true } } });
    // The saved secret is write-only from now on.
    expect(within(form).getByLabelText('Value of TOKEN')).toHaveValue('');
    expect(within(form).getByLabelText('Labels')).toHaveValue('eu staging');
  });

  it('shows the API refusing a reserved name next to its variable, and a 401 as the token message', async () => {
    let status = 400;
    serve(stored, {
      'PATCH /api/environments/12': () =>
        status === 400
          ? apiError(400, 'invalid', 'The request has invalid fields.', { 'variables.PATH': 'is reserved: Baton sets it' })
          : apiError(401, 'unauthorized', 'A valid API token is required.'),
    });
    renderWithProviders(<EnvironmentDetails id={12} />);
    const form = await screen.findByRole('form', { name: 'Edit env12' });
    const user = userEvent.setup();
    await user.click(within(form).getByRole('button', { name: 'Add variable' }));
    await user.type(within(form).getByLabelText('Name of variable 3'), 'PATH');
    await user.type(within(form).getByLabelText('Value of PATH'), '/opt/bin');
    await user.click(within(form).getByRole('button', { name: 'Save changes' }));
    const name = within(form).getByLabelText('Name of variable 3');
    await waitFor(() => expect(name).toHaveAccessibleDescription('is reserved: Baton sets it'));
    expect(name).toHaveAttribute('aria-invalid', 'true');
    expect(name).toHaveFocus();
    expect(within(form).queryByText('The changes were not saved')).not.toBeInTheDocument();

    status = 401;
    await user.clear(name);
    await user.type(name, 'EXTRA');
    await user.click(within(form).getByRole('button', { name: 'Save changes' }));
    const alert = await within(form).findByRole('alert');
    expect(alert).toHaveTextContent('The changes were not saved');
    expect(alert).toHaveTextContent(/requires an API token/);
  });

  it('checks labels before sending and says when nothing changed', async () => {
    const { requests } = serve(stored);
    renderWithProviders(<EnvironmentDetails id={12} />);
    const form = await screen.findByRole('form', { name: 'Edit env12' });
    const user = userEvent.setup();
    await user.click(within(form).getByRole('button', { name: 'Save changes' }));
    expect(within(form).getByText('Nothing changed.')).toBeInTheDocument();
    await user.type(within(form).getByLabelText('Labels'), ' Payments');
    await user.click(within(form).getByRole('button', { name: 'Save changes' }));
    expect(within(form).getByLabelText('Labels')).toHaveAccessibleDescription(expect.stringContaining('“Payments” is not a label'));
    expect(requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });
});

describe('EnvironmentDetails: hold', () => {
  it('holds with a reason and an end, shows who holds it until when, and releases', async () => {
    window.localStorage.setItem('baton.username', 'carol');
    const { requests, set } = serve(stored, {
      'POST /api/environments/12/hold': async (request) => {
        const body = (await request.clone().json()) as { held_by: string; reason: string; until?: string };
        const held: Environment = { ...stored, state: 'held', hold: { held_by: body.held_by, reason: body.reason, since: new Date().toISOString(), until: body.until ?? null } };
        set(held);
        return json(held);
      },
      'DELETE /api/environments/12/hold': () => {
        set(stored);
        return json(stored);
      },
    });
    renderWithProviders(<EnvironmentDetails id={12} />);
    const form = await screen.findByRole('form', { name: 'Hold env12' });
    expect(within(form).getByLabelText('Held by')).toHaveValue('carol');
    const user = userEvent.setup();
    await user.type(within(form).getByLabelText('Reason'), 'debugging the payments sandbox');
    await user.selectOptions(within(form).getByLabelText('How long'), '60');
    const before = Date.now();
    await user.click(within(form).getByRole('button', { name: 'Hold env12' }));

    const state = await screen.findByTestId('hold-state');
    expect(state).toHaveTextContent(/Held by carol until \d/);
    expect(state).toHaveTextContent('debugging the payments sandbox');
    const post = requests.find((r) => r.method === 'POST')!;
    const body = (await post.request.json()) as { held_by: string; reason: string; until: string };
    expect(body.held_by).toBe('carol');
    expect(body.reason).toBe('debugging the payments sandbox');
    const ahead = Date.parse(body.until) - before;
    expect(ahead).toBeGreaterThan(59 * 60_000);
    expect(ahead).toBeLessThan(61 * 60_000);
    expect(screen.getByText('held', { selector: '.env-state' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Release env12' }));
    expect(await screen.findByRole('form', { name: 'Hold env12' })).toBeInTheDocument();
    expect(requests.some((r) => r.method === 'DELETE')).toBe(true);
  });

  it('shows a hold placed on a busy environment as taking effect when its run ends', async () => {
    serve({ ...stored, state: 'busy', running_run_id: 40, hold: { held_by: 'dave', reason: 'maintenance', since: '2026-11-25T10:00:00Z', until: null } });
    renderWithProviders(<EnvironmentDetails id={12} />);
    const state = await screen.findByTestId('hold-state');
    expect(state).toHaveTextContent('Hold placed by dave until released');
    expect(state).toHaveTextContent('It takes effect when run #40 ends.');
    expect(within(state).getByRole('link', { name: '#40' })).toHaveAttribute('href', '/runs/40');
  });

  it('asks for a reason, refuses a time past 24 h, and shows the API refusing someone else\u2019s hold', async () => {
    const { requests } = serve(stored, {
      'POST /api/environments/12/hold': () => apiError(409, 'conflict', 'Environment 12 is already held by dave (maintenance); it must be released first.'),
    });
    renderWithProviders(<EnvironmentDetails id={12} />);
    const form = await screen.findByRole('form', { name: 'Hold env12' });
    const user = userEvent.setup();
    await user.clear(within(form).getByLabelText('Held by'));
    await user.type(within(form).getByLabelText('Held by'), 'erin');
    await user.selectOptions(within(form).getByLabelText('How long'), 'custom');
    const later = new Date(Date.now() + 30 * 3600_000);
    const local = new Date(later.getTime() - later.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await user.type(within(form).getByLabelText('Hold until'), local);
    await user.click(within(form).getByRole('button', { name: 'Hold env12' }));
    expect(within(form).getByLabelText('Reason')).toHaveAccessibleDescription('Say why, so people waiting know.');
    expect(within(form).getByLabelText('Hold until')).toHaveAccessibleDescription(/at most 24 hours/);
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(0);

    await user.selectOptions(within(form).getByLabelText('How long'), '');
    await user.type(within(form).getByLabelText('Reason'), 'load test');
    await user.click(within(form).getByRole('button', { name: 'Hold env12' }));
    const alert = await within(form).findByRole('alert');
    expect(alert).toHaveTextContent('env12 was not held');
    expect(alert).toHaveTextContent('Environment 12 is already held by dave (maintenance); it must be released first.');
  });

  it('lets the holder change the hold: a new end and reason, same holder', async () => {
    const held: Environment = { ...stored, state: 'held', hold: { held_by: 'carol', reason: 'debugging', since: '2026-11-25T10:00:00Z', until: null } };
    const { requests, set } = serve(held, {
      'POST /api/environments/12/hold': async (request) => {
        const body = (await request.clone().json()) as { held_by: string; reason: string; until?: string };
        const changed: Environment = { ...held, hold: { ...held.hold!, reason: body.reason, until: body.until ?? null } };
        set(changed);
        return json(changed);
      },
    });
    renderWithProviders(<EnvironmentDetails id={12} />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Change hold' }));
    const form = screen.getByRole('form', { name: 'Hold env12' });
    expect(within(form).getByLabelText('Held by')).toHaveValue('carol');
    expect(within(form).getByLabelText('Reason')).toHaveValue('debugging');
    await user.clear(within(form).getByLabelText('Reason'));
    await user.type(within(form).getByLabelText('Reason'), 'debugging, back at noon');
    await user.selectOptions(within(form).getByLabelText('How long'), '120');
    await user.click(within(form).getByRole('button', { name: 'Update hold' }));
    const state = await screen.findByTestId('hold-state');
    expect(state).toHaveTextContent('debugging, back at noon');
    expect(state).toHaveTextContent(/Held by carol until \d/);
    const body = (await requests.find((r) => r.method === 'POST')!.request.json()) as { held_by: string };
    expect(body.held_by).toBe('carol');
  });
});
