import { memo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useEnvironments } from '../../api/queries';
import type { Environment, EnvironmentList, EnvironmentState } from '../../api/types';
import { EmptyState, ErrorState, LoadingState } from '../../components/States';
import { pluralize } from '../../lib/format';
import { holdLine } from './hold';
import { EnvironmentLabels, EnvironmentStatePill } from './pieces';

/** Queue lengths at or above this get the hottest colour. */
const HOTTEST = 6;
const SHOWN_QUEUED = 3;

/** 0 idle (or held with nobody waiting), 1 busy with nobody waiting, 2..(HOTTEST+1) a growing queue. */
function heatLevel(env: Environment): number {
  const waiting = env.queued_run_ids.length;
  if ((env.state === 'idle' || env.state === 'held') && waiting === 0) return 0;
  return 1 + Math.min(waiting, HOTTEST);
}

const EnvironmentTile = memo(function EnvironmentTile({ env, now }: { env: Environment; now: number }) {
  const waiting = env.queued_run_ids.length;
  const level = heatLevel(env);
  const shown = env.queued_run_ids.slice(0, SHOWN_QUEUED);
  const headingId = `env-${env.id}-name`;
  return (
    <li
      className={`env-tile env-tile--heat-${level}${env.hold ? ' env-tile--held' : ''}`}
      aria-labelledby={headingId}
      data-env-id={env.id}
      data-state={env.state}
    >
      <div className="env-tile__head">
        <h3 className="env-tile__name" id={headingId}>
          <Link to={`/?environment_id=${env.id}`} title={`Runs in ${env.name}`}>
            {env.name}
          </Link>
        </h3>
        <EnvironmentStatePill env={env} />
      </div>
      {env.labels.length > 0 && <EnvironmentLabels labels={env.labels} />}
      {env.hold && (
        <div className="env-tile__hold" title={env.hold.reason}>
          {holdLine(env, now)}
        </div>
      )}
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
      <Link className="env-tile__manage" to={`/environments/${env.id}`} aria-label={`Manage ${env.name}`}>
        Manage
      </Link>
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

const STATES: readonly EnvironmentState[] = ['idle', 'busy', 'held', 'waiting'];

function Summary({ data }: { data: EnvironmentList }) {
  const items = data.items;
  const count = (state: EnvironmentState) => items.filter((e) => e.state === state).length;
  const waiting = items.reduce((n, e) => n + e.queued_run_ids.length, 0);
  const contended = items.filter((e) => e.queued_run_ids.length > 0).length;
  const pooled = data.pools.reduce((n, p) => n + p.queued_run_ids.length, 0);
  const slots = data.worker_slots;
  return (
    <div className="env-summary__stats">
      <p>
        <strong>{count('busy')}</strong> busy · <strong>{count('idle')}</strong> idle
        {count('held') > 0 && (
          <>
            {' '}
            · <strong>{count('held')}</strong> held
          </>
        )}
        {count('waiting') > 0 && (
          <>
            {' '}
            · <strong>{count('waiting')}</strong> waiting for a worker
          </>
        )}{' '}
        · <strong>{pluralize(waiting, 'run')}</strong> waiting in <strong>{pluralize(contended, 'environment')}</strong>
        {pooled > 0 && (
          <>
            {' '}
            · <strong>{pluralize(pooled, 'run')}</strong> waiting for a pool
          </>
        )}
      </p>
      <p className="muted" data-testid="worker-slots">
        {slots.workers === 0
          ? 'No worker is running: queued runs wait until one starts.'
          : `${slots.busy} of ${pluralize(slots.total, 'worker slot')} busy on ${pluralize(slots.workers, 'worker')}`}
        {data.waiting_for_capacity > 0 && ` · ${pluralize(data.waiting_for_capacity, 'run')} waiting for a free slot`}
      </p>
    </div>
  );
}

/** Every pool: its environments and the runs waiting for any of them, oldest first. */
function Pools({ data }: { data: EnvironmentList }) {
  const pools = data.pools.filter((p) => p.environment_ids.length > 0 || p.queued_run_ids.length > 0);
  if (pools.length === 0) return null;
  return (
    <section className="pools" aria-labelledby="pools-title">
      <h2 id="pools-title" className="pools__title">
        Pools
      </h2>
      <ul className="pools__list">
        {pools.map((p) => (
          <li key={p.name} className="pools__pool" data-pool={p.name}>
            <Link to={`?pool=${encodeURIComponent(p.name)}`} className="label-chip" aria-label={`Show the ${p.name} pool`}>
              {p.name}
            </Link>{' '}
            <span className="muted">{pluralize(p.environment_ids.length, 'environment')}</span>
            {p.queued_run_ids.length > 0 && (
              <>
                {' '}
                · {p.queued_run_ids.length} waiting:{' '}
                <ul className="inline-list pools__queue" aria-label={`Runs waiting for ${p.name}, oldest first`}>
                  {p.queued_run_ids.slice(0, SHOWN_QUEUED).map((id) => (
                    <li key={id}>
                      <Link to={`/runs/${id}`}>#{id}</Link>
                    </li>
                  ))}
                  {p.queued_run_ids.length > SHOWN_QUEUED && <li className="env-tile__more">+{p.queued_run_ids.length - SHOWN_QUEUED}</li>}
                </ul>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Filters({ data, pool, state, onChange }: { data: EnvironmentList; pool: string; state: string; onChange: (key: 'pool' | 'state', value: string) => void }) {
  const pools = data.pools.filter((p) => p.environment_ids.length > 0);
  return (
    <div className="filters env-filters" role="search" aria-label="Filter environments">
      <div className="field field--inline">
        <label htmlFor="env-filter-pool" className="field__label">
          Pool
        </label>
        <select id="env-filter-pool" className="input input--small" value={pool} onChange={(e) => onChange('pool', e.target.value)}>
          <option value="">All environments</option>
          {pools.map((p) => (
            <option key={p.name} value={p.name}>
              {`${p.name} (${p.environment_ids.length}${p.queued_run_ids.length > 0 ? `, ${p.queued_run_ids.length} waiting` : ''})`}
            </option>
          ))}
          <option value="-">No label</option>
        </select>
      </div>
      <div className="field field--inline">
        <label htmlFor="env-filter-state" className="field__label">
          State
        </label>
        <select id="env-filter-state" className="input input--small" value={state} onChange={(e) => onChange('state', e.target.value)}>
          <option value="">Any</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

/** The 100 environments: state, labels, hold, the running run and the queue, coloured by contention; filtered by pool and state (in the URL). */
export function EnvironmentsGrid() {
  const query = useEnvironments();
  const [params, setParams] = useSearchParams();
  if (query.isPending) return <LoadingState label="Loading environments…" />;
  if (!query.data) return <ErrorState title="Could not load environments" error={query.error} />;
  const data = query.data;
  const pool = params.get('pool') ?? '';
  const state = params.get('state') ?? '';
  const onChange = (key: 'pool' | 'state', value: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value === '') next.delete(key);
        else next.set(key, value);
        return next;
      },
      { replace: true },
    );
  const shown = data.items.filter(
    (e) => (pool === '' || (pool === '-' ? e.labels.length === 0 : e.labels.includes(pool))) && (state === '' || e.state === state),
  );
  const now = query.dataUpdatedAt;
  const gridLabel = shown.length === data.items.length ? 'Environments' : `Environments (${shown.length} of ${data.items.length})`;
  return (
    <>
      <div className="env-summary">
        <Summary data={data} />
        <Legend />
      </div>
      <Pools data={data} />
      <Filters data={data} pool={pool} state={state} onChange={onChange} />
      {shown.length === 0 ? (
        <EmptyState title="No environment matches">
          <button type="button" className="button button--small" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Show all environments
          </button>
        </EmptyState>
      ) : (
        <section aria-labelledby="env-grid-title">
          {/* The tiles' names are h3s: this h2 keeps the outline whole (h1, h2, h3) when no pool list precedes them. */}
          <h2 id="env-grid-title" className="sr-only">
            {gridLabel}
          </h2>
          <ul className="env-grid" aria-label={gridLabel}>
            {shown.map((env) => (
              <EnvironmentTile key={env.id} env={env} now={now} />
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
