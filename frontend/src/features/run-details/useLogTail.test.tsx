import type { ReactNode } from 'react';
import { renderHook, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { QueryClientProvider } from '@tanstack/react-query';
import { createTestQueryClient, json, mockApi } from '../../test/utils';
import { useLogTail } from './useLogTail';

// Poll every 20 ms instead of every second so the test runs on real timers quickly.
vi.mock('../../api/queries', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../api/queries')>()),
  POLL_MS: 20,
}));

function wrapper({ children }: { children: ReactNode }) {
  return <QueryClientProvider client={createTestQueryClient()}>{children}</QueryClientProvider>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('useLogTail', () => {
  it('asks only for new text, appends it, and stops polling once complete', async () => {
    const log = 'collecting ...\ntest_success.py::test_ok PASSED\n1 passed in 0.01s\n';
    // The server's log grows while the run goes on; it answers by byte offset.
    let available = 15;
    let done = false;
    const { requests } = mockApi({
      'GET /api/runs/12/log': (_req, url) => {
        const offset = Number(url.searchParams.get('offset'));
        const text = log.slice(offset, available);
        const next = offset + text.length;
        return json({ offset, next_offset: next, text, complete: done && next === log.length });
      },
    });
    const offsets = () => requests.map((r) => Number(r.url.searchParams.get('offset')));

    const { result } = renderHook(() => useLogTail(12), { wrapper });
    await waitFor(() => expect(result.current.tail.pieces.join('')).toBe('collecting ...\n'));
    expect(result.current.tail.nextOffset).toBe(15);

    // Nothing new for a while: each poll asks from offset 15 and the text stays as it was.
    await waitFor(() => expect(offsets().filter((o) => o === 15).length).toBeGreaterThanOrEqual(2));
    expect(result.current.tail.pieces.join('')).toBe('collecting ...\n');

    available = log.length;
    await waitFor(() => expect(result.current.tail.pieces.join('')).toBe(log));
    expect(result.current.tail.complete).toBe(false);

    done = true;
    await waitFor(() => expect(result.current.tail.complete).toBe(true));
    expect(result.current.tail.pieces.join('')).toBe(log);

    // Never re-downloaded: offsets only go 0, then 15..., then the end.
    const seen = offsets();
    expect(seen[0]).toBe(0);
    expect(seen.slice(1).every((o) => o === 15 || o === log.length)).toBe(true);
    expect(seen.at(-1)).toBe(log.length);

    // Complete: polling stopped.
    const count = requests.length;
    await sleep(150);
    expect(requests).toHaveLength(count);
  });

  it('keeps earlier pieces untouched when new text arrives', async () => {
    const log = 'a'.repeat(40_000) + '\nb\nc\n';
    let available = 40_001;
    let done = false;
    mockApi({
      'GET /api/runs/5/log': (_req, url) => {
        const offset = Number(url.searchParams.get('offset'));
        const text = log.slice(offset, available);
        const next = offset + text.length;
        return json({ offset, next_offset: next, text, complete: done && next === log.length });
      },
    });
    const { result } = renderHook(() => useLogTail(5), { wrapper });
    await waitFor(() => expect(result.current.tail.pieces.length).toBeGreaterThan(1));
    const firstPieces = result.current.tail.pieces;
    available = log.length;
    done = true;
    await waitFor(() => expect(result.current.tail.complete).toBe(true));
    expect(result.current.tail.pieces[0]).toBe(firstPieces[0]);
    expect(result.current.tail.pieces.join('')).toBe(log);
  });

  it('reads a finished run page after page at once, then stops', async () => {
    // A server that caps pages at 10 characters.
    const log = Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join('');
    const { requests } = mockApi({
      'GET /api/runs/6/log': (_req, url) => {
        const offset = Number(url.searchParams.get('offset'));
        const text = log.slice(offset, offset + 10);
        const next = offset + text.length;
        return json({ offset, next_offset: next, text, complete: next === log.length });
      },
    });
    const { result } = renderHook(() => useLogTail(6, { runEnded: true }), { wrapper });
    await waitFor(() => expect(result.current.tail.complete).toBe(true));
    expect(result.current.tail.pieces.join('')).toBe(log);
    const offsets = requests.map((r) => Number(r.url.searchParams.get('offset')));
    expect(offsets).toEqual(Array.from({ length: Math.ceil(log.length / 10) }, (_, i) => i * 10));
  });

  it('does not poll a run whose log is already complete when it mounts again', async () => {
    const client = createTestQueryClient();
    const { requests } = mockApi({
      'GET /api/runs/9/log': () => json({ offset: 0, next_offset: 3, text: 'ok\n', complete: true }),
    });
    const w = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
    const first = renderHook(() => useLogTail(9), { wrapper: w });
    await waitFor(() => expect(first.result.current.tail.complete).toBe(true));
    first.unmount();
    const second = renderHook(() => useLogTail(9), { wrapper: w });
    expect(second.result.current.tail.pieces.join('')).toBe('ok\n');
    await sleep(100);
    expect(requests).toHaveLength(1);
  });
});
