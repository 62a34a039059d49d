import { useApiHealth } from '../api/status';

/** Shown on every page while the API does not answer; polling goes on and clears it. */
export function ApiStatusBanner() {
  const health = useApiHealth();
  if (health === 'ok') return null;
  return (
    <div className="api-banner" role="alert">
      <span className="spinner spinner--light" aria-hidden="true" />
      {health === 'unreachable'
        ? 'Cannot reach the Baton API — retrying…'
        : 'The Baton API cannot reach its database — retrying…'}
    </div>
  );
}
