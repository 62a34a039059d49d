// How a queued run's ETA reads (pure; the wait itself is rendered by components/QueueNote).
import type { Run } from '../api/types';
import { formatEta } from './format';

/** "starts in about 3 min", or why there is no estimate (lower case, for after a "·"). */
export function etaText(run: Pick<Run, 'eta_seconds' | 'waiting_for'>): string {
  const eta = formatEta(run.eta_seconds);
  if (eta) return `starts ${eta}`;
  if (run.waiting_for?.kind === 'hold' && !run.waiting_for.until) return 'no start time while the hold lasts';
  return 'no estimate yet';
}

/** The same as a sentence, for the run's page. */
export function etaSentence(run: Pick<Run, 'eta_seconds' | 'waiting_for'>): string {
  const eta = formatEta(run.eta_seconds);
  if (eta) return `It should start ${eta}.`;
  if (run.waiting_for?.kind === 'hold' && !run.waiting_for.until) return 'No start time: the hold lasts until someone releases it.';
  return 'No estimate yet: what it waits for has no recent history.';
}
