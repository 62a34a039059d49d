// The optional API token. A server started with BATON_API_TOKEN wants
// "Authorization: Bearer <token>" on every POST; reads never need it.
// The token is kept in localStorage so a reload keeps it.
import { useSyncExternalStore } from 'react';

const KEY = 'baton.apiToken';
const listeners = new Set<() => void>();

export function getApiToken(): string {
  try {
    return window.localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function setApiToken(token: string): void {
  try {
    if (token) window.localStorage.setItem(KEY, token);
    else window.localStorage.removeItem(KEY);
  } catch {
    // storage unavailable: nothing to remember it in
  }
  for (const l of listeners) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useApiToken(): string {
  return useSyncExternalStore(subscribe, getApiToken, () => '');
}
