import type { Environment } from '../../api/types';
import { formatHoldUntil } from '../../lib/format';

// How long a hold lasts, as the hold form offers it (the server allows at most 24 h ahead).
export const MAX_HOLD_MS = 24 * 3600_000;

export const HOLD_DURATIONS = [
  { value: '', label: 'Until released' },
  { value: '30', label: 'For 30 minutes' },
  { value: '60', label: 'For 1 hour' },
  { value: '120', label: 'For 2 hours' },
  { value: '240', label: 'For 4 hours' },
  { value: '480', label: 'For 8 hours' },
  { value: 'custom', label: 'Until a time…' },
] as const;

export type HoldDuration = (typeof HOLD_DURATIONS)[number]['value'];

/** "2026-11-25T14:30" (a datetime-local input, in the browser's zone) → epoch ms, or NaN. */
export function parseLocalDateTime(text: string): number {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) ? new Date(text).getTime() : Number.NaN;
}

/**
 * The hold's `until` as RFC 3339, undefined for a hold until released, or the
 * reason it cannot be sent.
 */
export function holdUntil(duration: HoldDuration, custom: string, now: number): { until?: string; error?: string } {
  if (duration === '') return {};
  if (duration !== 'custom') return { until: new Date(now + Number(duration) * 60_000).toISOString() };
  const at = parseLocalDateTime(custom);
  if (Number.isNaN(at)) return { error: 'Enter a date and time.' };
  if (at <= now) return { error: 'Choose a time in the future.' };
  if (at - now > MAX_HOLD_MS) return { error: 'A hold can end at most 24 hours from now; hold until released for longer.' };
  return { until: new Date(at).toISOString() };
}

/** "held by carol until 14:30" (pending: "hold by carol after this run"). */
export function holdLine(env: Environment, now: number): string | null {
  if (!env.hold) return null;
  const until = formatHoldUntil(env.hold.until, now);
  return env.state === 'busy' ? `Hold by ${env.hold.held_by} after this run, ${until}` : `Held by ${env.hold.held_by} ${until}`;
}
