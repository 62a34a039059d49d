// Query keys, queryOptions and query hooks for the data several features read.
// Each query is defined once as queryOptions (usable with useQuery, prefetchQuery
// or setQueryData); writes live in mutation hooks next to the feature that makes
// them, and each mutation hook owns its cache invalidation (see ./mutations.ts).
import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import {
  getEnvironment,
  getEnvironmentInsights,
  getRun,
  getRunTests,
  getTestHistory,
  listEnvironments,
  listFlakyTests,
  listRuns,
  listSlowestTests,
  listTestDirectories,
  listTestFiles,
} from './client';
import {
  isFinalStatus,
  MAX_ENVIRONMENT_ID,
  MIN_ENVIRONMENT_ID,
  type EnvironmentInsightsQuery,
  type ListRunsQuery,
  type Run,
  type TestHistoryQuery,
  type TestListQuery,
} from './types';

/** How often live data is polled. */
export const POLL_MS = 1000;
/** The catalog changes rarely (uploads invalidate it explicitly). */
const CATALOG_POLL_MS = 15_000;

export const queryKeys = {
  environments: ['environments'] as const,
  /** Under `environments`, so invalidating the list refreshes every environment too. */
  environment: (id: number) => ['environments', 'detail', id] as const,
  testFiles: ['test-files'] as const,
  testDirectories: ['test-directories'] as const,
  runs: ['runs'] as const,
  runLists: ['runs', 'list'] as const,
  runList: (query: ListRunsQuery) => ['runs', 'list', query] as const,
  runDetails: ['runs', 'detail'] as const,
  run: (id: number) => ['runs', 'detail', id] as const,
  runLog: (id: number) => ['runs', 'log', id] as const,
  runTests: (id: number) => ['runs', 'tests', id] as const,
  testHistory: (query: TestHistoryQuery) => ['tests', 'history', query] as const,
  flakyTests: (query: TestListQuery) => ['tests', 'flaky', query] as const,
  slowestTests: (query: TestListQuery) => ['tests', 'slowest', query] as const,
  environmentInsights: (query: EnvironmentInsightsQuery) => ['insights', 'environments', query] as const,
};

/** Statistics change only when runs end; a slower poll is plenty. */
const INSIGHTS_POLL_MS = 10_000;

export const environmentsQueryOptions = () =>
  queryOptions({
    queryKey: queryKeys.environments,
    queryFn: ({ signal }) => listEnvironments(signal),
    refetchInterval: POLL_MS,
    placeholderData: keepPreviousData,
  });

export const environmentQueryOptions = (id: number) =>
  queryOptions({
    queryKey: queryKeys.environment(id),
    queryFn: ({ signal }) => getEnvironment(id, signal),
    refetchInterval: POLL_MS,
    enabled: Number.isSafeInteger(id) && id >= MIN_ENVIRONMENT_ID && id <= MAX_ENVIRONMENT_ID,
  });

export const testFilesQueryOptions = () =>
  queryOptions({
    queryKey: queryKeys.testFiles,
    queryFn: ({ signal }) => listTestFiles(signal),
    refetchInterval: CATALOG_POLL_MS,
  });

export const testDirectoriesQueryOptions = () =>
  queryOptions({
    queryKey: queryKeys.testDirectories,
    queryFn: ({ signal }) => listTestDirectories(signal),
    refetchInterval: CATALOG_POLL_MS,
  });

export const runsQueryOptions = (query: ListRunsQuery) =>
  queryOptions({
    queryKey: queryKeys.runList(query),
    queryFn: ({ signal }) => listRuns(query, signal),
    refetchInterval: POLL_MS,
    // Keep showing the previous page while a new filter/page loads: no flicker, no lost scroll.
    placeholderData: keepPreviousData,
  });

export const runQueryOptions = (id: number) =>
  queryOptions({
    queryKey: queryKeys.run(id),
    queryFn: ({ signal }) => getRun(id, signal),
    // Poll while the run can still change; a final run never does.
    refetchInterval: (query) => {
      const run = query.state.data;
      return run && isFinalStatus(run.status) ? false : POLL_MS;
    },
    enabled: Number.isSafeInteger(id) && id > 0,
  });

/**
 * Per-test results. The server fills them once the run has ended, so this waits
 * for a final run; a final run's results never change, so they are fetched once.
 */
export const runTestsQueryOptions = (run: Run | undefined) =>
  queryOptions({
    queryKey: queryKeys.runTests(run?.id ?? 0),
    queryFn: ({ signal }) => getRunTests(run?.id ?? 0, signal),
    enabled: run !== undefined && isFinalStatus(run.status),
    staleTime: Infinity,
  });

export const testHistoryQueryOptions = (query: TestHistoryQuery) =>
  queryOptions({
    queryKey: queryKeys.testHistory(query),
    queryFn: ({ signal }) => getTestHistory(query, signal),
    refetchInterval: INSIGHTS_POLL_MS,
    placeholderData: keepPreviousData,
    enabled: query.node_id !== '',
  });

export const flakyTestsQueryOptions = (query: TestListQuery) =>
  queryOptions({
    queryKey: queryKeys.flakyTests(query),
    queryFn: ({ signal }) => listFlakyTests(query, signal),
    refetchInterval: INSIGHTS_POLL_MS,
    placeholderData: keepPreviousData,
  });

export const slowestTestsQueryOptions = (query: TestListQuery) =>
  queryOptions({
    queryKey: queryKeys.slowestTests(query),
    queryFn: ({ signal }) => listSlowestTests(query, signal),
    refetchInterval: INSIGHTS_POLL_MS,
    placeholderData: keepPreviousData,
  });

export const environmentInsightsQueryOptions = (query: EnvironmentInsightsQuery) =>
  queryOptions({
    queryKey: queryKeys.environmentInsights(query),
    queryFn: ({ signal }) => getEnvironmentInsights(query, signal),
    refetchInterval: INSIGHTS_POLL_MS * 3,
    placeholderData: keepPreviousData,
  });

export const useEnvironments = () => useQuery(environmentsQueryOptions());
export const useEnvironment = (id: number) => useQuery(environmentQueryOptions(id));
export const useTestFiles = () => useQuery(testFilesQueryOptions());
export const useTestDirectories = () => useQuery(testDirectoriesQueryOptions());
export const useRuns = (query: ListRunsQuery) => useQuery(runsQueryOptions(query));
export const useRun = (id: number) => useQuery(runQueryOptions(id));
export const useRunTests = (run: Run | undefined) => useQuery(runTestsQueryOptions(run));
export const useTestHistory = (query: TestHistoryQuery) => useQuery(testHistoryQueryOptions(query));
export const useFlakyTests = (query: TestListQuery) => useQuery(flakyTestsQueryOptions(query));
export const useSlowestTests = (query: TestListQuery) => useQuery(slowestTestsQueryOptions(query));
export const useEnvironmentInsights = (query: EnvironmentInsightsQuery) => useQuery(environmentInsightsQueryOptions(query));
