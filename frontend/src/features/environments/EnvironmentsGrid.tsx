import { memo } from 'react';
import { Link } from 'react-router';
import { useEnvironments } from '../../api/queries';
import type { Environment } from '../../api/types';
import { ErrorState, LoadingState } from '../../components/States';
import { pluralize } from '../../lib/format';

/** Queue lengths at or above this get the hottest colour. */
const HOTTEST = 6;
const SHOWN_QUEUED = 3;

/** 0 idle, 1 busy with nobody waiting, 2..(HOTTEST+1) busy with a growing queue. */
function heatLevel(env: Environment): number {
  const waiting = env.queued_run_ids.length;
  if (env.state === 'idle' && waiting === 0) return 0;
  return 1 + Math.min(waiting, HOTTEST);
}

const EnvironmentTile = memo(function EnvironmentTile({ env }: { env: Environment }) {
  const waiting = env.queued_run_ids.length;
  const level = heatLevel(env);
  const shown = env.queued_run_ids.slice(0, SHOWN_QUEUED);
  const headingId = `env-${env.id}-name`;
  return (
    <li className={`env-tile env-tile--heat-${level}`} aria-labelledby={headingId} data-env-id={env.id} data-state={env.state}>
      <div className="env-tile__head">
        <h3 className="env-tile__name" id={headingId}>
          <Link to={`/?environment_id=${env.id}`} title={`Runs in ${env.name}`}>
            {env.name}
          </Link>
        </h3>
        <span className={`env-state env-state--${env.state}`}>{env.state}</span>
      </div>
      {env.running_run_id != null && (
        <div className="env-tile__running">
          Running <Link to={`/runs/${env.running_run_id}`}>#{env.running_run_id}</Link>
        </div>
      )}
      {waiting > 0 && (
        <div className="env-tile__queue">
          <span className="env-tile__waiting">{waiting} waiting:</span>
          <ul className="inline-list" aria-label={`Runs waiting in ${env.name}, next first`}>
            {shown.map((id) => (
              <li key={id}>
                <Link to={`/runs/${id}`}>#{id}</Link>
              </li>
            ))}
            {waiting > shown.length && <li className="env-tile__more">+{waiting - shown.length}</li>}
          </ul>
        </div>
      )}
    </li>
  );
});

function Legend() {
  return (
    <ul className="legend" aria-label="Colour legend">
      <li>
        <span className="legend__swatch env-tile--heat-0" aria-hidden="true" /> idle
      </li>
      <li>
        <span className="legend__swatch env-tile--heat-1" aria-hidden="true" /> busy, no queue
      </li>
      <li>
        <span className="legend__swatch env-tile--heat-2" aria-hidden="true" />
        <span className="legend__swatch env-tile--heat-4" aria-hidden="true" />
        <span className="legend__swatch env-tile--heat-7" aria-hidden="true" /> longer queue
      </li>
    </ul>
  );
}

/** The 100 environments: idle/busy, the running run and the queue, coloured by contention. */
export function EnvironmentsGrid() {
  const query = useEnvironments();
  if (query.isPending) return <LoadingState label="Loading environments…" />;
  if (!query.data) return <ErrorState title="Could not load environments" error={query.error} />;
  const items = query.data.items;
  const busy = items.filter((e) => e.state === 'busy').length;
  const waiting = items.reduce((n, e) => n + e.queued_run_ids.length, 0);
  const contended = items.filter((e) => e.queued_run_ids.length > 0).length;
  return (
    <>
      <div className="env-summary">
        <p className="env-summary__stats">
          <strong>{busy}</strong> busy · <strong>{items.length - busy}</strong> idle · <strong>{pluralize(waiting, 'run')}</strong>{' '}
          waiting in <strong>{pluralize(contended, 'environment')}</strong>
        </p>
        <Legend />
      </div>
      <ul className="env-grid" aria-label="Environments">
        {items.map((env) => (
          <EnvironmentTile key={env.id} env={env} />
        ))}
      </ul>
    </>
  );
}
