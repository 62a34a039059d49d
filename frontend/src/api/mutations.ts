// One mutation hook per API write. Each owns what the write makes stale, so a
// component only says what to do for its own UI (onSuccess/onError via
// mutationConfig) and never touches the cache (bulletproof-react's pattern).
import { useMutation, useQueryClient, type QueryClient, type UseMutationOptions } from '@tanstack/react-query';
import { cancelRun, createRun, rerunFailedTests, rerunRun, uploadTestFile, uploadTestProject } from './client';
import { queryKeys } from './queries';
import type { CancelRequest, CreateRunRequest, RerunRequest, Run, TestFile, TestProject, UploadTestFileBody } from './types';

/** What a caller may add to a mutation: its own callbacks, never the mutationFn. */
export type MutationConfig<TData, TVariables> = Omit<UseMutationOptions<TData, Error, TVariables>, 'mutationFn'>;

/** The options every mutation hook takes. */
export interface HookOptions<TData, TVariables> {
  mutationConfig?: MutationConfig<TData, TVariables>;
}

/** A run was created (new or rerun): the runs lists and the environments' queues changed. */
function invalidateAfterRunCreated(queryClient: QueryClient, run: Run): Promise<unknown> {
  queryClient.setQueryData(queryKeys.run(run.id), run);
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.runLists }),
    queryClient.invalidateQueries({ queryKey: queryKeys.environments }),
  ]);
}

/** POST /api/runs. */
export function useCreateRun({ mutationConfig }: HookOptions<Run, CreateRunRequest> = {}) {
  const queryClient = useQueryClient();
  const { onSuccess, ...rest } = mutationConfig ?? {};
  return useMutation({
    ...rest,
    mutationFn: createRun,
    onSuccess: async (...args) => {
      await invalidateAfterRunCreated(queryClient, args[0]);
      await onSuccess?.(...args);
    },
  });
}

/** POST /api/runs/{id}/rerun. */
export function useRerunRun({ mutationConfig }: HookOptions<Run, { id: number; body?: RerunRequest }> = {}) {
  const queryClient = useQueryClient();
  const { onSuccess, ...rest } = mutationConfig ?? {};
  return useMutation({
    ...rest,
    mutationFn: ({ id, body }: { id: number; body?: RerunRequest }) => rerunRun(id, body),
    onSuccess: async (...args) => {
      await invalidateAfterRunCreated(queryClient, args[0]);
      await onSuccess?.(...args);
    },
  });
}

/** POST /api/runs/{id}/rerun-failed: only the failed and errored tests. */
export function useRerunFailedTests({ mutationConfig }: HookOptions<Run, { id: number; body?: RerunRequest }> = {}) {
  const queryClient = useQueryClient();
  const { onSuccess, ...rest } = mutationConfig ?? {};
  return useMutation({
    ...rest,
    mutationFn: ({ id, body }: { id: number; body?: RerunRequest }) => rerunFailedTests(id, body),
    onSuccess: async (...args) => {
      await invalidateAfterRunCreated(queryClient, args[0]);
      await onSuccess?.(...args);
    },
  });
}

/** POST /api/runs/{id}/cancel (body: who cancels): the run itself, the lists and the environment's queue changed. */
export function useCancelRun({ mutationConfig }: HookOptions<Run, { id: number; body?: CancelRequest }> = {}) {
  const queryClient = useQueryClient();
  const { onSuccess, ...rest } = mutationConfig ?? {};
  return useMutation({
    ...rest,
    mutationFn: ({ id, body }: { id: number; body?: CancelRequest }) => cancelRun(id, body),
    onSuccess: async (...args) => {
      const run = args[0];
      queryClient.setQueryData(queryKeys.run(run.id), run);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: queryKeys.run(run.id) }),
        queryClient.invalidateQueries({ queryKey: queryKeys.runLists }),
        queryClient.invalidateQueries({ queryKey: queryKeys.environments }),
      ]);
      await onSuccess?.(...args);
    },
  });
}

/**
 * POST /api/test-files. The stored file is put into the cached catalog at once
 * (so it is selectable before the refetch), then the catalog is refetched.
 */
export function useUploadTestFile({ mutationConfig }: HookOptions<TestFile, UploadTestFileBody> = {}) {
  const queryClient = useQueryClient();
  const { onSuccess, ...rest } = mutationConfig ?? {};
  return useMutation({
    ...rest,
    mutationFn: uploadTestFile,
    onSuccess: async (...args) => {
      const uploaded = args[0];
      queryClient.setQueryData<TestFile[]>(queryKeys.testFiles, (old) => {
        if (!old) return old;
        const others = old.filter((f) => f.path !== uploaded.path);
        return [...others, uploaded].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      });
      // The caller's callback first: it can select the file before the refetch renders it.
      await onSuccess?.(...args);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: queryKeys.testFiles }),
        queryClient.invalidateQueries({ queryKey: queryKeys.testDirectories }),
      ]);
    },
  });
}

type ProjectUpload = Parameters<typeof uploadTestProject>[0];

/** POST /api/test-projects: the project's test files join the catalog (and its directories). */
export function useUploadTestProject({ mutationConfig }: HookOptions<TestProject, ProjectUpload> = {}) {
  const queryClient = useQueryClient();
  const { onSuccess, ...rest } = mutationConfig ?? {};
  return useMutation({
    ...rest,
    mutationFn: uploadTestProject,
    onSuccess: async (...args) => {
      const project = args[0];
      queryClient.setQueryData<TestFile[]>(queryKeys.testFiles, (old) => {
        if (!old) return old;
        const inProject = (f: TestFile) => f.path === project.directory || f.path.startsWith(`${project.directory}/`);
        return [...old.filter((f) => !inProject(f)), ...project.test_files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      });
      await onSuccess?.(...args);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: queryKeys.testFiles }),
        queryClient.invalidateQueries({ queryKey: queryKeys.testDirectories }),
      ]);
    },
  });
}
