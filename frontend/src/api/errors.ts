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
