import { Link } from 'react-router';
import { ApiError } from '../../api/errors';
import { useEnvironment } from '../../api/queries';
import { MAX_ENVIRONMENT_ID, MIN_ENVIRONMENT_ID, type Environment } from '../../api/types';
import { Card } from '../../components/Card';
import { ErrorState, LoadingState } from '../../components/States';
import { pluralize } from '../../lib/format';
import { EnvironmentEditForm } from './EnvironmentEditForm';
import { HoldPanel } from './HoldPanel';
import { EnvironmentLabels, EnvironmentStatePill } from './pieces';

function Now({ env }: { env: Environment }) {
  const waiting = env.queued_run_ids.length;
  return (
    <dl className="details details--compact">
      <div>
        <dt>State</dt>
        <dd data-field="state">
          <EnvironmentStatePill env={env} />
        </dd>
      </div>
      <div>
        <dt>Running</dt>
        <dd data-field="running">
          {env.running_run_id != null ? <Link to={`/runs/${env.running_run_id}`}>#{env.running_run_id}</Link> : <span className="muted">nothing</span>}
        </dd>
      </div>
      <div>
        <dt>Waiting here</dt>
        <dd data-field="queue">
          {waiting === 0 ? (
            <span className="muted">no runs</span>
          ) : (
            <ul className="inline-list" aria-label={`Runs waiting in ${env.name}, next first`}>
              {env.queued_run_ids.map((id) => (
                <li key={id}>
                  <Link to={`/runs/${id}`}>#{id}</Link>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </div>
      <div>
        <dt>Labels (pools)</dt>
        <dd data-field="labels">
          {env.labels.length > 0 ? <EnvironmentLabels labels={env.labels} /> : <span className="muted">none</span>}
        </dd>
      </div>
      {env.url && (
        <div className="details__wide">
          <dt>URL</dt>
          <dd data-field="url">
            <a href={env.url} target="_blank" rel="noreferrer noopener">
              {env.url}
            </a>
          </dd>
        </div>
      )}
      {env.description && (
        <div className="details__wide">
          <dt>Description</dt>
          <dd data-field="description">{env.description}</dd>
        </div>
      )}
    </dl>
  );
}

/** One environment: what runs and waits, its hold, and its metadata form. */
export function EnvironmentDetails({ id }: { id: number }) {
  const query = useEnvironment(id);
  const env = query.data;
  if (!Number.isSafeInteger(id) || id < MIN_ENVIRONMENT_ID || id > MAX_ENVIRONMENT_ID) {
    return <ErrorState title="Not an environment" message={`Environments are numbered ${MIN_ENVIRONMENT_ID} to ${MAX_ENVIRONMENT_ID}.`} />;
  }
  if (query.isPending) return <LoadingState label={`Loading env${id}…`} />;
  if (!env) {
    const notFound = query.error instanceof ApiError && query.error.status === 404;
    return <ErrorState title={notFound ? `env${id} does not exist` : `Could not load env${id}`} error={query.error} />;
  }
  const now = query.dataUpdatedAt;
  return (
    <>
      <div className="page-title page-title--split">
        <h1>{env.name}</h1>
        <Link to={`/?environment_id=${env.id}`}>Runs in {env.name}</Link>
      </div>
      <section className="card" aria-label={`${env.name} now`}>
        <Now env={env} />
        {env.queued_run_ids.length > 0 && env.state !== 'busy' && (
          <p className="card__note field-hint">
            {pluralize(env.queued_run_ids.length, 'run')} {env.queued_run_ids.length === 1 ? 'waits' : 'wait'}{' '}
            {env.state === 'held' ? 'for the hold to end' : 'for a free worker slot'}.
          </p>
        )}
      </section>
      <Card title="Hold" id="env-hold">
        <HoldPanel env={env} now={now} />
      </Card>
      <Card title="Details" id="env-details">
        {/* key: a saved or reloaded environment from elsewhere starts a fresh form only when the page changes */}
        <EnvironmentEditForm key={env.id} env={env} />
      </Card>
    </>
  );
}
