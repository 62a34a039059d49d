// Tracks whether the Baton API answers, as seen by every request the client makes.
// The banner and every action read it; queries keep polling, so it clears itself.
import { useSyncExternalStore } from 'react';

export type ApiHealth = 'ok' | 'unreachable' | 'unavailable';

interface Snapshot {
  health: ApiHealth;
  /** Epoch ms of the last answer that was not a failure of the API itself (0: none yet). */
  lastOkAt: number;
}

let current: Snapshot = { health: 'ok', lastOkAt: 0 };
const listeners = new Set<() => void>();

export function reportApiHealth(next: ApiHealth, at: number = Date.now()): void {
  const changed = next !== current.health;
  // Every answer moves the time; only a change of health is news for the listeners.
  current = { health: next, lastOkAt: next === 'ok' ? at : current.lastOkAt };
  if (changed) for (const l of listeners) l();
}

export function getApiHealth(): ApiHealth {
  return current.health;
}

function getSnapshot(): Snapshot {
  return current;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useApiHealth(): ApiHealth {
  return useSyncExternalStore(subscribe, getApiHealth, getApiHealth);
}

/** Health plus when the API last answered, read once per change of health. */
export function useApiStatus(): Snapshot {
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}

/** False while the API is down: actions are disabled and clocks stop. */
export function useOnline(): boolean {
  return useApiHealth() === 'ok';
}

/** Classifies an HTTP answer: gateways and non-JSON 5xx mean the API itself is not answering. */
export function healthOfResponse(response: Response): ApiHealth {
  const { status } = response;
  if (status === 502 || status === 504) return 'unreachable';
  if (status === 503) return 'unavailable';
  if (status >= 500 && !(response.headers.get('content-type') ?? '').includes('json')) return 'unreachable';
  return 'ok';
}
