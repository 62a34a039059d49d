import { useState } from 'react';
import { Link } from 'react-router';
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis, ZAxis } from 'recharts';
import { useEnvironmentInsights } from '../../api/queries';
import type { EnvironmentUsage } from '../../api/types';
import { ErrorState, LoadingState } from '../../components/States';
import { formatDuration } from '../../lib/format';
import { formatPercent } from '../../lib/testLinks';
import { contended } from './contention';

const WINDOWS = [
  { value: '24h', label: 'last 24 hours' },
  { value: '7d', label: 'last 7 days' },
  { value: '30d', label: 'last 30 days' },
  { value: '90d', label: 'last 90 days' },
] as const;

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function ContentionChart({ envs }: { envs: readonly EnvironmentUsage[] }) {
  const data = envs
    .filter((e) => e.runs_started > 0 || e.busy_share > 0)
    .map((e) => ({ name: e.name, busy: Math.round(e.busy_share * 1000) / 10, wait: Math.round((e.queue_wait_p95_ms ?? 0) / 100) / 10, runs: e.runs_started, hot: contended(e) }));
  return (
    <figure className="chart" aria-labelledby="contention-caption" data-testid="contention-chart">
      <figcaption id="contention-caption" className="chart__caption">
        Busy share against p95 queue wait, one dot per environment (size: runs started). Top right, in red: busy and runs wait — more
        environments would help there.
      </figcaption>
      <div className="chart__plot">
        <ResponsiveContainer width="100%" height={280}>
          <ScatterChart margin={{ top: 8, right: 16, bottom: 24, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
            <XAxis type="number" dataKey="busy" name="busy" unit="%" domain={[0, 100]} stroke="var(--text-muted)" fontSize={12} />
            <YAxis type="number" dataKey="wait" name="p95 wait" unit="s" stroke="var(--text-muted)" fontSize={12} width={56} />
            <ZAxis type="number" dataKey="runs" range={[30, 300]} name="runs" />
            <Tooltip cursor={{ strokeDasharray: '3 3' }} />
            <Scatter data={data} name="environments" isAnimationActive={false}>
              {data.map((d) => (
                <Cell key={d.name} fill={d.hot ? 'var(--danger)' : 'var(--primary)'} />
              ))}
            </Scatter>
          </ScatterChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

function HoursChart({ hours, timezone }: { hours: readonly number[]; timezone: string }) {
  const data = hours.map((n, h) => ({ hour: `${String(h).padStart(2, '0')}h`, runs: n }));
  return (
    <figure className="chart" aria-labelledby="hours-caption" data-testid="hours-chart">
      <figcaption id="hours-caption" className="chart__caption">
        Runs started per hour of day, all environments ({timezone})
      </figcaption>
      <div className="chart__plot">
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="hour" stroke="var(--text-muted)" fontSize={12} interval={2} />
            <YAxis stroke="var(--text-muted)" fontSize={12} width={48} allowDecimals={false} />
            <Tooltip />
            <Bar dataKey="runs" fill="var(--primary)" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

function QueueChart({ envs }: { envs: readonly EnvironmentUsage[] }) {
  const data = [...envs]
    .filter((e) => e.average_queue_length > 0)
    .sort((a, b) => b.average_queue_length - a.average_queue_length)
    .slice(0, 15)
    .map((e) => ({ name: e.name, waiting: Math.round(e.average_queue_length * 100) / 100, hot: contended(e) }));
  if (data.length === 0) return <p className="muted">No run waited in this window.</p>;
  return (
    <figure className="chart" aria-labelledby="queue-caption" data-testid="queue-chart">
      <figcaption id="queue-caption" className="chart__caption">
        Average number of runs waiting, the {data.length} most contested environments
      </figcaption>
      <div className="chart__plot">
        <ResponsiveContainer width="100%" height={Math.max(160, data.length * 24)}>
          <BarChart data={data} layout="vertical" margin={{ top: 8, right: 16, bottom: 8, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" stroke="var(--text-muted)" fontSize={12} />
            <YAxis type="category" dataKey="name" stroke="var(--text-muted)" fontSize={12} width={56} />
            <Tooltip />
            <Bar dataKey="waiting" isAnimationActive={false}>
              {data.map((d) => (
                <Cell key={d.name} fill={d.hot ? 'var(--danger)' : 'var(--primary)'} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

function UsageTable({ envs }: { envs: readonly EnvironmentUsage[] }) {
  const rows = [...envs].filter((e) => e.runs_started > 0 || e.busy_share > 0).sort((a, b) => b.average_queue_length - a.average_queue_length);
  if (rows.length === 0) return <p className="muted">No environment was used in this window.</p>;
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Environments by average queue length">
        <thead>
          <tr>
            <th scope="col">Environment</th>
            <th scope="col">Busy</th>
            <th scope="col">Runs / day</th>
            <th scope="col">Queue wait p50</th>
            <th scope="col">p95</th>
            <th scope="col">Avg. waiting</th>
            <th scope="col">More would help</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.environment_id} data-env-id={e.environment_id} data-contended={contended(e)}>
              <td>
                <Link to={`/?environment_id=${e.environment_id}`}>{e.name}</Link>
              </td>
              <td>{formatPercent(e.busy_share)}</td>
              <td>{Math.round(e.runs_per_day * 10) / 10}</td>
              <td>{formatDuration(e.queue_wait_p50_ms)}</td>
              <td>{formatDuration(e.queue_wait_p95_ms)}</td>
              <td>{Math.round(e.average_queue_length * 100) / 100}</td>
              <td>{contended(e) ? <strong className="text-error">yes</strong> : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** How busy and contested each environment was over a chosen window. */
export function EnvironmentInsights() {
  const [window, setWindow] = useState('7d');
  const tz = browserTimeZone();
  const query = useEnvironmentInsights({ window, tz });
  let body;
  if (query.isPending) body = <LoadingState label="Measuring the environments…" />;
  else if (query.isError && !query.data) body = <ErrorState title="Could not load the environment insights" error={query.error} />;
  else {
    const d = query.data!;
    const hot = d.environments.filter(contended);
    body = (
      <>
        <dl className="stat-list" aria-label="All environments">
          <div>
            <dt>Runs started</dt>
            <dd>
              {d.total.runs_started} ({Math.round(d.total.runs_per_day)} a day)
            </dd>
          </div>
          <div>
            <dt>Busy on average</dt>
            <dd>{formatPercent(d.total.busy_share)}</dd>
          </div>
          <div>
            <dt>Queue wait p50 / p95</dt>
            <dd>
              {formatDuration(d.total.queue_wait_p50_ms)} / {formatDuration(d.total.queue_wait_p95_ms)}
            </dd>
          </div>
          <div>
            <dt>More environments would help</dt>
            <dd data-testid="contended">{hot.length === 0 ? 'nowhere' : hot.map((e) => e.name).join(', ')}</dd>
          </div>
        </dl>
        <ContentionChart envs={d.environments} />
        <QueueChart envs={d.environments} />
        <HoursChart hours={d.total.starts_by_hour} timezone={d.timezone} />
        <UsageTable envs={d.environments} />
        <p className="muted">
          Busy means a run was executing: time an environment is held without a run is not busy (the waits of the runs a hold held
          up are counted). Queue wait p50 and p95 are estimated from a histogram, within 9% of the exact figure.
        </p>
      </>
    );
  }
  return (
    <section className="card" aria-labelledby="insights-title">
      <header className="card__header">
        <h2 className="card__title" id="insights-title">
          Environment use
        </h2>
        <div className="card__actions">
          <label className="inline-field" htmlFor="insights-window">
            Window
            <select id="insights-window" className="input input--small" value={window} onChange={(e) => setWindow(e.target.value)}>
              {WINDOWS.map((w) => (
                <option key={w.value} value={w.value}>
                  {w.label}
                </option>
              ))}
            </select>
          </label>
        </div>
      </header>
      <div className="card__body">{body}</div>
    </section>
  );
}
