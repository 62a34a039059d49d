// Tracks whether the Baton API answers, as seen by every request the client makes.
// The banner in src/components reads it; queries keep polling, so it clears itself.
import { useSyncExternalStore } from 'react';

export type ApiHealth = 'ok' | 'unreachable' | 'unavailable';

let current: ApiHealth = 'ok';
const listeners = new Set<() => void>();

export function reportApiHealth(next: ApiHealth): void {
  if (next === current) return;
  current = next;
  for (const l of listeners) l();
}

export function getApiHealth(): ApiHealth {
  return current;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useApiHealth(): ApiHealth {
  return useSyncExternalStore(subscribe, getApiHealth, getApiHealth);
}

/** Classifies an HTTP answer: gateways and non-JSON 5xx mean the API itself is not answering. */
export function healthOfResponse(response: Response): ApiHealth {
  const { status } = response;
  if (status === 502 || status === 504) return 'unreachable';
  if (status === 503) return 'unavailable';
  if (status >= 500 && !(response.headers.get('content-type') ?? '').includes('json')) return 'unreachable';
  return 'ok';
}
