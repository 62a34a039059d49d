// Named aliases of the generated OpenAPI types (no hand-written copies).
import type { components, operations } from './schema';

type Schemas = components['schemas'];

export type Run = Schemas['Run'];
// Progress and TestSummary are nullable schemas (a run has none yet); these
// name the value itself.
export type Progress = NonNullable<Schemas['Progress']>;
export type TestSummary = NonNullable<Schemas['TestSummary']>;
export type TestResult = Schemas['TestResult'];
export type TestResultList = Schemas['TestResultList'];
export type RerunRequest = NonNullable<operations['rerunRun']['requestBody']>['content']['application/json'];
export type CancelRequest = NonNullable<operations['cancelRun']['requestBody']>['content']['application/json'];
export type RunStatus = Schemas['RunStatus'];
export type RunList = Schemas['RunList'];
export type LogPage = Schemas['LogPage'];
export type Environment = Schemas['Environment'];
export type EnvironmentList = Schemas['EnvironmentList'];
export type EnvironmentState = Schemas['EnvironmentState'];
export type EnvironmentPatch = Schemas['EnvironmentPatch'];
export type EnvironmentVariable = Schemas['EnvironmentVariable'];
export type EnvironmentVariableInput = Schemas['EnvironmentVariableInput'];
export type Hold = NonNullable<Schemas['Hold']>;
export type HoldRequest = Schemas['HoldRequest'];
export type Pool = Schemas['Pool'];
export type WaitingFor = NonNullable<Schemas['WaitingFor']>;
export type TestFile = Schemas['TestFile'];
export type TestDirectory = Schemas['TestDirectory'];
export type TestProject = Schemas['TestProject'];
export type CreateRunRequest = Schemas['CreateRunRequest'];
export type ErrorResponse = Schemas['ErrorResponse'];
export type TestHistory = Schemas['TestHistory'];
export type TestHistoryEntry = Schemas['TestHistoryEntry'];
export type TestStats = Schemas['TestStats'];
export type TestStatsList = Schemas['TestStatsList'];
export type RecentResult = Schemas['RecentResult'];
export type EnvironmentInsights = Schemas['EnvironmentInsights'];
export type EnvironmentUsage = Schemas['EnvironmentUsage'];
export type UsageTotals = Schemas['UsageTotals'];
export type TestOutcome = Schemas['TestOutcome'];
export type TestHistoryQuery = operations['getTestHistory']['parameters']['query'];
export type TestListQuery = NonNullable<operations['listFlakyTests']['parameters']['query']>;
export type EnvironmentInsightsQuery = NonNullable<operations['getEnvironmentInsights']['parameters']['query']>;
export type ErrorCode = ErrorResponse['error']['code'];
export type ListRunsQuery = NonNullable<operations['listRuns']['parameters']['query']>;
export type UploadTestFileBody = NonNullable<
  operations['uploadTestFile']['requestBody']
>['content']['multipart/form-data'];

/** Every run status in life-cycle order. `satisfies` keeps this list in step with the schema. */
export const RUN_STATUSES = ['queued', 'running', 'success', 'failed', 'error', 'cancelled'] as const satisfies readonly RunStatus[];

/** Statuses after which a run never changes again. */
export function isFinalStatus(status: RunStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

export const MIN_ENVIRONMENT_ID = 1;
export const MAX_ENVIRONMENT_ID = 100;
