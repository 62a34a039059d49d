// Remembers who uses this browser, to prefill "Username" and to sign reruns.
const KEY = 'baton.username';

export function loadUsername(): string {
  try {
    return window.localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveUsername(name: string): void {
  try {
    window.localStorage.setItem(KEY, name);
  } catch {
    // storage may be unavailable (private mode); remembering the name is a nicety
  }
}
