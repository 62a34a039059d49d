// The environments feature's writes. Each hook owns what its write makes stale
// (see src/api/mutations.ts for the pattern): the environment itself (set from
// the answer at once), the list with its pools and states, and the runs, whose
// `waiting_for` and `eta_seconds` change with a hold or a pool's members.
import { useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { holdEnvironment, releaseEnvironment, updateEnvironment } from '../../../api/client';
import type { HookOptions as MutationHookOptions } from '../../../api/mutations';
import { queryKeys } from '../../../api/queries';
import type { Environment, EnvironmentPatch, HoldRequest } from '../../../api/types';

type HookOptions<TVariables> = MutationHookOptions<Environment, TVariables>;

function invalidateAfterEnvironmentChanged(queryClient: QueryClient, env: Environment): Promise<unknown> {
  queryClient.setQueryData(queryKeys.environment(env.id), env);
  return Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.environments }),
    queryClient.invalidateQueries({ queryKey: queryKeys.runLists }),
    queryClient.invalidateQueries({ queryKey: queryKeys.runDetails }),
  ]);
}

function useEnvironmentMutation<TVariables>(
  mutationFn: (variables: TVariables) => Promise<Environment>,
  { mutationConfig }: HookOptions<TVariables>,
) {
  const queryClient = useQueryClient();
  const { onSuccess, ...rest } = mutationConfig ?? {};
  return useMutation({
    ...rest,
    mutationFn,
    onSuccess: async (...args) => {
      await invalidateAfterEnvironmentChanged(queryClient, args[0]);
      await onSuccess?.(...args);
    },
  });
}

/** PATCH /api/environments/{id}: description, labels (pools), URL, variables. */
export function useUpdateEnvironment(options: HookOptions<{ id: number; patch: EnvironmentPatch }> = {}) {
  return useEnvironmentMutation(({ id, patch }: { id: number; patch: EnvironmentPatch }) => updateEnvironment(id, patch), options);
}

/** POST /api/environments/{id}/hold. */
export function useHoldEnvironment(options: HookOptions<{ id: number; hold: HoldRequest }> = {}) {
  return useEnvironmentMutation(({ id, hold }: { id: number; hold: HoldRequest }) => holdEnvironment(id, hold), options);
}

/** DELETE /api/environments/{id}/hold. */
export function useReleaseEnvironment(options: HookOptions<number> = {}) {
  return useEnvironmentMutation((id: number) => releaseEnvironment(id), options);
}
