import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { reportApiHealth } from '../../api/status';
import { ApiStatusBanner } from '../../components/ApiStatusBanner';
import { StatusAnnouncer } from '../../components/StatusAnnouncer';
import { json, makeRun, mockApi, renderWithProviders } from '../../test/utils';
import { NewRunForm } from './NewRunForm';
import { RunsPanel } from './RunsPanel';
import { TestFilePicker } from './TestFilePicker';

const files = ['a/test_1.py', 'a/test_2.py', 'b/test_3.py'].map((path) => ({
  path,
  directory: path.split('/')[0]!,
  size_bytes: 1,
  modified_at: '2026-11-25T10:00:00Z',
}));

describe('new runs pill', () => {
  it('holds runs that appear while the reader points at the table, and shows them on click', async () => {
    let items = [makeRun({ id: 2 }), makeRun({ id: 1 })];
    const { client } = renderWithProviders(<RunsPanel />);
    mockApi({ 'GET /api/runs': () => json({ items, next_cursor: null, total: items.length }) });
    await client.refetchQueries();
    const table = (await screen.findByRole('link', { name: '#2' })).closest('table')!.parentElement!.parentElement!;
    fireEvent.pointerEnter(table);
    items = [makeRun({ id: 3, status: 'queued' }), ...items];
    await act(() => client.refetchQueries());
    expect(await screen.findByRole('button', { name: /1 new run/ })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: '#3' })).not.toBeInTheDocument();
    await userEvent.setup().click(screen.getByRole('button', { name: /1 new run/ }));
    expect(await screen.findByRole('link', { name: '#3' })).toBeInTheDocument();
  });

  it('shows new runs at once when the reader is not busy with the table', async () => {
    let items = [makeRun({ id: 1 })];
    mockApi({ 'GET /api/runs': () => json({ items, next_cursor: null, total: items.length }) });
    const { client } = renderWithProviders(<RunsPanel />);
    await screen.findByRole('link', { name: '#1' });
    items = [makeRun({ id: 2 }), ...items];
    await act(() => client.refetchQueries());
    expect(await screen.findByRole('link', { name: '#2' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /new run/ })).not.toBeInTheDocument();
  });
});

describe('test file picker', () => {
  it('is one Tab stop, with arrow keys inside', async () => {
    function Harness() {
      const [selected, setSelected] = useState<string[]>([]);
      return <TestFilePicker id="p" files={files} isLoading={false} selected={selected} onChange={setSelected} errorId="e" />;
    }
    renderWithProviders(
      <>
        <Harness />
        <button type="button">after</button>
      </>,
    );
    const user = userEvent.setup();
    await user.click(screen.getByLabelText('Filter test files'));
    await user.tab();
    // The directory's own box first: the list is entered at one place.
    expect(document.getElementById('p-dir-a')).toHaveFocus();
    expect(screen.getAllByRole('checkbox').filter((b) => b.tabIndex === 0)).toHaveLength(1);
    await user.keyboard('{ArrowDown}');
    expect(screen.getByRole('checkbox', { name: 'a/test_1.py' })).toHaveFocus();
    await user.keyboard('{ArrowDown} ');
    expect(screen.getByRole('checkbox', { name: 'a/test_2.py' })).toBeChecked();
    await user.tab();
    expect(screen.getByRole('button', { name: 'after' })).toHaveFocus();
    await user.tab({ shift: true });
    // Back into the list on the box last used, not the first.
    expect(screen.getByRole('checkbox', { name: 'a/test_2.py' })).toHaveFocus();
  });
});

describe('focus after a failed submit', () => {
  it('moves to the first field in error', async () => {
    mockApi({ 'GET /api/environments': () => json({ items: [] }), 'GET /api/test-files': () => json({ items: files }) });
    renderWithProviders(<NewRunForm selectedFiles={[]} onSelectedFilesChange={() => {}} />);
    await userEvent.setup().click(screen.getByRole('button', { name: 'Start run' }));
    await waitFor(() => expect(screen.getByLabelText('Username')).toHaveFocus());
  });
});

describe('offline', () => {
  it('says how long ago the API last answered, and goes away when it is back', async () => {
    // The clock stands still (timers stay real, so the banner's ticker runs): "12 s ago" exactly,
    // however long a loaded machine takes between these lines.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      renderWithProviders(<ApiStatusBanner />);
      act(() => reportApiHealth('ok', Date.now() - 12_000));
      act(() => reportApiHealth('unreachable'));
      await waitFor(() => expect(screen.getByTestId('last-updated')).toHaveTextContent(/^12 s ago$/));
      act(() => reportApiHealth('ok'));
      expect(screen.queryByTestId('offline-banner')).not.toBeInTheDocument();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('status announcer', () => {
  it('speaks once per change of status, never on a poll with the same status', () => {
    const { rerender } = renderWithProviders(<StatusAnnouncer status="queued" message="Run #1 is now queued." />);
    const region = screen.getByTestId('status-announcer');
    expect(region).toHaveTextContent('');
    rerender(<StatusAnnouncer status="running" message="Run #1 is now running." />);
    expect(region).toHaveTextContent('Run #1 is now running.');
    rerender(<StatusAnnouncer status="running" message="Run #1 is now running." />);
    expect(region).toHaveTextContent('Run #1 is now running.');
    expect(region).toHaveAttribute('role', 'status');
  });
});
