import createClient from 'openapi-fetch';
import type { paths } from './schema';
import { getApiToken } from './auth';
import { apiErrorFromResponse, isAbortError, networkError } from './errors';
import { healthOfResponse, reportApiHealth } from './status';
import type {
  CancelRequest,
  CreateRunRequest,
  EnvironmentInsights,
  EnvironmentInsightsQuery,
  Environment,
  EnvironmentList,
  EnvironmentPatch,
  HoldRequest,
  ListRunsQuery,
  LogPage,
  RerunRequest,
  Run,
  RunList,
  TestDirectory,
  TestFile,
  TestProject,
  TestHistory,
  TestHistoryQuery,
  TestListQuery,
  TestResultList,
  TestStatsList,
  UploadTestFileBody,
} from './types';

/** Same origin by default; set VITE_API_BASE (e.g. http://localhost:8080) to talk to another origin. */
export function apiBaseUrl(): string {
  const configured = import.meta.env.VITE_API_BASE as string | undefined;
  return configured && configured.length > 0 ? configured : window.location.origin;
}

/**
 * Every request goes through here: it reports whether the API answered (for the
 * "cannot reach" banner) and reads globalThis.fetch per call so tests can stub it.
 */
async function trackedFetch(request: Request): Promise<Response> {
  const token = getApiToken();
  if (token && request.method !== 'GET' && request.method !== 'HEAD' && !request.headers.has('Authorization')) {
    request.headers.set('Authorization', `Bearer ${token}`);
  }
  let response: Response;
  try {
    response = await globalThis.fetch(request);
  } catch (err) {
    if (isAbortError(err) || request.signal?.aborted) throw err;
    reportApiHealth('unreachable');
    throw networkError(err);
  }
  reportApiHealth(healthOfResponse(response));
  return response;
}

export const client = createClient<paths>({ baseUrl: apiBaseUrl(), fetch: trackedFetch });

type Result<T> = { data?: T; error?: unknown; response: Response };

/** Returns the data of a 2xx answer or throws an ApiError built from the contract's error body. */
async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw apiErrorFromResponse(response, error);
  return data as T;
}

// One typed function per operation of openapi.yaml that the UI uses.

export function listEnvironments(signal?: AbortSignal): Promise<EnvironmentList> {
  return unwrap(client.GET('/api/environments', { signal }));
}

export function getEnvironment(id: number, signal?: AbortSignal): Promise<Environment> {
  return unwrap(client.GET('/api/environments/{id}', { params: { path: { id } }, signal }));
}

export function updateEnvironment(id: number, body: EnvironmentPatch): Promise<Environment> {
  return unwrap(client.PATCH('/api/environments/{id}', { params: { path: { id } }, body }));
}

export function holdEnvironment(id: number, body: HoldRequest): Promise<Environment> {
  return unwrap(client.POST('/api/environments/{id}/hold', { params: { path: { id } }, body }));
}

export function releaseEnvironment(id: number): Promise<Environment> {
  return unwrap(client.DELETE('/api/environments/{id}/hold', { params: { path: { id } } }));
}

export async function listTestFiles(signal?: AbortSignal): Promise<TestFile[]> {
  return (await unwrap(client.GET('/api/test-files', { signal }))).items;
}

export async function listTestDirectories(signal?: AbortSignal): Promise<TestDirectory[]> {
  return (await unwrap(client.GET('/api/test-directories', { signal }))).items;
}

export function listRuns(query: ListRunsQuery, signal?: AbortSignal): Promise<RunList> {
  return unwrap(client.GET('/api/runs', { params: { query }, signal }));
}

export function getRun(id: number, signal?: AbortSignal): Promise<Run> {
  return unwrap(client.GET('/api/runs/{id}', { params: { path: { id } }, signal }));
}

export function getRunLog(id: number, offset: number, signal?: AbortSignal): Promise<LogPage> {
  return unwrap(client.GET('/api/runs/{id}/log', { params: { path: { id }, query: { offset } }, signal }));
}

export function getRunTests(id: number, signal?: AbortSignal): Promise<TestResultList> {
  return unwrap(client.GET('/api/runs/{id}/tests', { params: { path: { id } }, signal }));
}

export function createRun(body: CreateRunRequest): Promise<Run> {
  return unwrap(client.POST('/api/runs', { body }));
}

export function cancelRun(id: number, body: CancelRequest = {}): Promise<Run> {
  return unwrap(client.POST('/api/runs/{id}/cancel', { params: { path: { id } }, body }));
}

export function rerunRun(id: number, body: RerunRequest = {}): Promise<Run> {
  return unwrap(client.POST('/api/runs/{id}/rerun', { params: { path: { id } }, body }));
}

export function rerunFailedTests(id: number, body: RerunRequest = {}): Promise<Run> {
  return unwrap(client.POST('/api/runs/{id}/rerun-failed', { params: { path: { id } }, body }));
}

/** GET /api/runs/{id}/log.txt: the whole log as stored, as a file to save. */
export function rawLogUrl(id: number): string {
  return `${apiBaseUrl()}/api/runs/${id}/log.txt`;
}

/**
 * POST /api/test-projects: a whole folder, each file under its path inside the
 * project, or one .zip / .tar.gz archive.
 */
export function uploadTestProject(body: {
  directory: string;
  overwrite: boolean;
  files?: { path: string; file: Blob }[];
  archive?: File;
}): Promise<TestProject> {
  return unwrap(
    client.POST('/api/test-projects', {
      body: { directory: body.directory },
      bodySerializer() {
        const form = new FormData();
        form.append('directory', body.directory);
        form.append('overwrite', body.overwrite ? 'true' : 'false');
        for (const { path, file } of body.files ?? []) form.append('file', file, path);
        if (body.archive) form.append('archive', body.archive, body.archive.name);
        return form;
      },
    }),
  );
}

export function uploadTestFile(body: UploadTestFileBody): Promise<TestFile> {
  return unwrap(
    client.POST('/api/test-files', {
      body,
      bodySerializer(b) {
        const form = new FormData();
        const name = b.file instanceof File ? b.file.name : 'test_upload.py';
        form.append('file', b.file, name);
        form.append('directory', b.directory);
        if (b.overwrite !== undefined) form.append('overwrite', b.overwrite);
        return form;
      },
    }),
  );
}

export function getTestHistory(query: TestHistoryQuery, signal?: AbortSignal): Promise<TestHistory> {
  return unwrap(client.GET('/api/tests/history', { params: { query }, signal }));
}

export function listFlakyTests(query: TestListQuery, signal?: AbortSignal): Promise<TestStatsList> {
  return unwrap(client.GET('/api/tests/flaky', { params: { query }, signal }));
}

export function listSlowestTests(query: TestListQuery, signal?: AbortSignal): Promise<TestStatsList> {
  return unwrap(client.GET('/api/tests/slowest', { params: { query }, signal }));
}

export function getEnvironmentInsights(query: EnvironmentInsightsQuery, signal?: AbortSignal): Promise<EnvironmentInsights> {
  return unwrap(client.GET('/api/insights/environments', { params: { query }, signal }));
}
