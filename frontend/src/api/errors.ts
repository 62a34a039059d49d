import type { ErrorCode, ErrorResponse } from './types';

/** Codes from the contract, plus `network` when no HTTP answer arrived at all. */
export type ApiErrorCode = ErrorCode | 'network' | 'unknown';

/** A failed API call: the HTTP status (0 for network failures) and the contract's error body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly fields: Readonly<Record<string, string>>;

  constructor(status: number, code: ApiErrorCode, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** True for errors that retrying will not fix (the request itself is wrong). */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }

  /** True when no HTTP answer arrived at all. The only network check in the UI. */
  get isNetwork(): boolean {
    return this.code === 'network';
  }
}

function isErrorResponse(body: unknown): body is ErrorResponse {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const inner = (body as { error: unknown }).error;
  return typeof inner === 'object' && inner !== null && 'message' in inner;
}

/** Builds an ApiError from a non-2xx response and its (possibly non-JSON) body. */
export function apiErrorFromResponse(response: Response, body: unknown): ApiError {
  if (isErrorResponse(body)) {
    const { code, message, fields } = body.error;
    return new ApiError(response.status, code ?? 'unknown', message || `HTTP ${response.status}`, fields ?? {});
  }
  const text = typeof body === 'string' && body.length < 200 ? body.trim() : '';
  return new ApiError(response.status, 'unknown', text || `The server answered HTTP ${response.status} ${response.statusText}`.trim());
}

export const NETWORK_ERROR_MESSAGE = 'Cannot reach the Baton API.';

export function networkError(cause: unknown): ApiError {
  const err = new ApiError(0, 'network', NETWORK_ERROR_MESSAGE);
  (err as { cause?: unknown }).cause = cause;
  return err;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof DOMException ? err.name === 'AbortError' : (err as { name?: string } | null)?.name === 'AbortError';
}

/** The explanation to show when the server asks for an API token (401). */
export const TOKEN_REQUIRED_MESSAGE =
  'This Baton server requires an API token for changes. Set it with “API token” in the top bar, then try again.';

/** A human message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** What the UI shows for a failed API call. */
export interface ErrorDescription {
  /** What did not happen, e.g. "The run was not started". */
  title: string;
  /**
   * The explanation in whole sentences, or null when every problem is a field error
   * that the form shows next to its input.
   */
  message: string | null;
  /** Per-field messages for the fields the caller shows (`shownFields`). */
  fields: Record<string, string>;
  /** No answer arrived: the caller may keep the user's input and offer to try again. */
  isNetwork: boolean;
}

export interface DescribeOptions {
  /** What did not happen, e.g. "The run was not started". */
  failed: string;
  /**
   * The request fields the form shows errors next to. Errors on other fields are
   * named by their label inside `message`, never shown as bare fragments.
   */
  shownFields?: readonly string[];
  /** A better explanation for some statuses (e.g. 409 on an upload), replacing the server's. */
  byStatus?: Readonly<Partial<Record<number, { title?: string; message?: string }>>>;
}

/** How the UI names the API's request fields when it has no input to show an error next to. */
const API_FIELD_LABELS: Readonly<Record<string, string>> = {
  requested_by: 'Username',
  environment_id: 'Environment',
  pool: 'Pool',
  description: 'Description',
  labels: 'Labels',
  url: 'URL',
  variables: 'Variables',
  held_by: 'Held by',
  reason: 'Reason',
  until: 'Until',
  test_files: 'Test files',
  timeout_seconds: 'Timeout',
  file: 'File',
  directory: 'Directory',
  overwrite: 'Overwrite',
};

function sentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  const capital = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * The one mapping from a failed call to what the user reads: network failures,
 * a missing token, per-field errors and everything else. Every form, action and
 * loading state goes through here so the same failure reads the same everywhere.
 */
export function describeApiError(err: unknown, options: DescribeOptions): ErrorDescription {
  const { failed, shownFields = [], byStatus = {} } = options;
  if (!(err instanceof ApiError)) {
    return { title: failed, message: sentence(errorMessage(err)), fields: {}, isNetwork: false };
  }
  if (err.isNetwork) {
    return {
      title: failed,
      message: 'Cannot reach the Baton API. Try again when it is back.',
      fields: {},
      isNetwork: true,
    };
  }
  if (err.status === 401) return { title: failed, message: TOKEN_REQUIRED_MESSAGE, fields: {}, isNetwork: false };
  const fields: Record<string, string> = {};
  const other: string[] = [];
  for (const [field, why] of Object.entries(err.fields)) {
    if (shownFields.includes(field)) fields[field] = why;
    else other.push(sentence(`${API_FIELD_LABELS[field] ?? field}: ${why}`));
  }
  const special = byStatus[err.status];
  if (special) return { title: special.title ?? failed, message: special.message ?? sentence(err.message), fields, isNetwork: false };
  const onlyKnownFields = Object.keys(fields).length > 0 && other.length === 0;
  if (onlyKnownFields) return { title: failed, message: null, fields, isNetwork: false };
  // A generic "invalid fields" summary adds nothing next to the fields it names.
  const lead = other.length > 0 && err.code === 'invalid' ? [] : [sentence(err.message)];
  return { title: failed, message: [...lead, ...other].join(' '), fields, isNetwork: false };
}
