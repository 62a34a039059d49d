import type { ReactNode } from 'react';
import { act, renderHook, waitFor } from '@testing-library/react';
import { QueryClientProvider } from '@tanstack/react-query';
import { describe, expect, it, vi } from 'vitest';
import { createTestQueryClient, json, makeRun, mockApi } from '../test/utils';
import { useCancelRun, useCreateRun, useRerunRun } from './mutations';
import { queryKeys } from './queries';

function setup() {
  const client = createTestQueryClient();
  const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
  const invalidate = vi.spyOn(client, 'invalidateQueries');
  return { client, wrapper, invalidate };
}

describe('mutation hooks own their invalidation', () => {
  it('useCreateRun refreshes the runs lists and environments, then calls the caller back', async () => {
    mockApi({ 'POST /api/runs': () => json(makeRun({ id: 5, status: 'queued' }), 201) });
    const { client, wrapper, invalidate } = setup();
    const onSuccess = vi.fn();
    const { result } = renderHook(() => useCreateRun({ mutationConfig: { onSuccess } }), { wrapper });
    await act(() => result.current.mutateAsync({ requested_by: 'a', environment_id: 3, test_files: ['t.py'] }));
    expect(invalidate).toHaveBeenCalledWith({ queryKey: queryKeys.runLists });
    expect(invalidate).toHaveBeenCalledWith({ queryKey: queryKeys.environments });
    expect(client.getQueryData(queryKeys.run(5))).toMatchObject({ id: 5 });
    expect(onSuccess).toHaveBeenCalledTimes(1);
  });

  it('useCancelRun sends who cancels, stores the cancelled run and refreshes it and the lists', async () => {
    const { requests } = mockApi({ 'POST /api/runs/4/cancel': () => json(makeRun({ id: 4, status: 'cancelled', cancelled_by: 'alice' })) });
    const { client, wrapper, invalidate } = setup();
    const { result } = renderHook(() => useCancelRun(), { wrapper });
    await act(() => result.current.mutateAsync({ id: 4, body: { cancelled_by: 'alice' } }));
    expect(await requests[0]!.request.clone().json()).toEqual({ cancelled_by: 'alice' });
    expect(client.getQueryData(queryKeys.run(4))).toMatchObject({ status: 'cancelled', cancelled_by: 'alice' });
    expect(invalidate).toHaveBeenCalledWith({ queryKey: queryKeys.run(4) });
    expect(invalidate).toHaveBeenCalledWith({ queryKey: queryKeys.runLists });
  });

  it('useRerunRun sends the body and refreshes the lists', async () => {
    const { requests } = mockApi({ 'POST /api/runs/4/rerun': () => json(makeRun({ id: 6, status: 'queued' }), 201) });
    const { wrapper, invalidate } = setup();
    const { result } = renderHook(() => useRerunRun(), { wrapper });
    await act(() => result.current.mutateAsync({ id: 4, body: { requested_by: 'bob' } }));
    await waitFor(() => expect(invalidate).toHaveBeenCalledWith({ queryKey: queryKeys.runLists }));
    expect(await requests[0]!.request.clone().json()).toEqual({ requested_by: 'bob' });
  });
});
