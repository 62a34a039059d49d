// Query keys and TanStack Query hooks shared by the features.
import { keepPreviousData, useQuery, type QueryClient } from '@tanstack/react-query';
import { getRun, getRunTests, listEnvironments, listRuns, listTestDirectories, listTestFiles } from './client';
import { isFinalStatus, type ListRunsQuery, type Run, type TestFile } from './types';

/** How often live data is polled. */
export const POLL_MS = 1000;
/** The catalog changes rarely (uploads invalidate it explicitly). */
const CATALOG_POLL_MS = 15_000;

export const queryKeys = {
  environments: ['environments'] as const,
  testFiles: ['test-files'] as const,
  testDirectories: ['test-directories'] as const,
  runs: ['runs'] as const,
  runLists: ['runs', 'list'] as const,
  runList: (query: ListRunsQuery) => ['runs', 'list', query] as const,
  run: (id: number) => ['runs', 'detail', id] as const,
  runLog: (id: number) => ['runs', 'log', id] as const,
  runTests: (id: number) => ['runs', 'tests', id] as const,
};

export function useEnvironments() {
  return useQuery({
    queryKey: queryKeys.environments,
    queryFn: ({ signal }) => listEnvironments(signal),
    refetchInterval: POLL_MS,
    placeholderData: keepPreviousData,
  });
}

export function useTestFiles() {
  return useQuery({
    queryKey: queryKeys.testFiles,
    queryFn: ({ signal }) => listTestFiles(signal),
    refetchInterval: CATALOG_POLL_MS,
  });
}

export function useTestDirectories() {
  return useQuery({
    queryKey: queryKeys.testDirectories,
    queryFn: ({ signal }) => listTestDirectories(signal),
    refetchInterval: CATALOG_POLL_MS,
  });
}

export function useRuns(query: ListRunsQuery) {
  return useQuery({
    queryKey: queryKeys.runList(query),
    queryFn: ({ signal }) => listRuns(query, signal),
    refetchInterval: POLL_MS,
    // Keep showing the previous page while a new filter/page loads: no flicker, no lost scroll.
    placeholderData: keepPreviousData,
  });
}

export function useRun(id: number) {
  return useQuery({
    queryKey: queryKeys.run(id),
    queryFn: ({ signal }) => getRun(id, signal),
    // Poll while the run can still change; a final run never does.
    refetchInterval: (query) => {
      const run = query.state.data;
      return run && isFinalStatus(run.status) ? false : POLL_MS;
    },
    enabled: Number.isSafeInteger(id) && id > 0,
  });
}

/**
 * Per-test results. The server fills them once the run has ended, so this waits
 * for a final run; a final run's results never change, so they are fetched once.
 */
export function useRunTests(run: Run | undefined) {
  const id = run?.id ?? 0;
  return useQuery({
    queryKey: queryKeys.runTests(id),
    queryFn: ({ signal }) => getRunTests(id, signal),
    enabled: run !== undefined && isFinalStatus(run.status),
    staleTime: Infinity,
  });
}

/** Puts a run the server just returned (cancel, rerun) into the cache and refreshes the lists. */
export async function refreshAfterRunChanged(queryClient: QueryClient, run: Run): Promise<void> {
  queryClient.setQueryData(queryKeys.run(run.id), run);
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.run(run.id) }),
    queryClient.invalidateQueries({ queryKey: queryKeys.runLists }),
    queryClient.invalidateQueries({ queryKey: queryKeys.environments }),
  ]);
}

/** Makes an uploaded file selectable at once, then refetches the catalog to be sure. */
export async function refreshCatalogAfterUpload(queryClient: QueryClient, uploaded: TestFile): Promise<void> {
  queryClient.setQueryData<TestFile[]>(queryKeys.testFiles, (old) => {
    if (!old) return old;
    const rest = old.filter((f) => f.path !== uploaded.path);
    return [...rest, uploaded].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  });
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.testFiles }),
    queryClient.invalidateQueries({ queryKey: queryKeys.testDirectories }),
  ]);
}

/** After a run was created, the runs lists and the environments' queues changed. */
export async function refreshAfterRunCreated(queryClient: QueryClient): Promise<void> {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.runLists }),
    queryClient.invalidateQueries({ queryKey: queryKeys.environments }),
  ]);
}
