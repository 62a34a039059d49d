import { useApiStatus } from '../api/status';
import { formatAgo } from '../lib/format';
import { useTicker } from '../lib/useTicker';

/**
 * Shown on every page while the API does not answer: how stale the page is,
 * with a clock of its own since polling cannot move one. Polling goes on and clears it.
 */
export function ApiStatusBanner() {
  const { health, lastOkAt } = useApiStatus();
  const down = health !== 'ok';
  const now = useTicker(down);
  if (!down) return null;
  const what = health === 'unreachable' ? 'Cannot reach the Baton API' : 'The Baton API cannot reach its database';
  return (
    <div className="api-banner" role="alert" data-testid="offline-banner">
      <span className="spinner spinner--light" aria-hidden="true" />
      <span>
        {what} — retrying…
        {lastOkAt > 0 && (
          <span className="api-banner__age">
            {' '}
            Last updated <span data-testid="last-updated">{formatAgo(now - lastOkAt)}</span>. Actions are paused until it is back.
          </span>
        )}
      </span>
    </div>
  );
}
