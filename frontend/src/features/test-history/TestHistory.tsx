import { useState } from 'react';
import { Link } from 'react-router';
import { CartesianGrid, ComposedChart, Line, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from 'recharts';
import { useTestHistory } from '../../api/queries';
import type { TestHistoryEntry, TestStats } from '../../api/types';
import { FlakyBadge } from '../../components/FlakyBadge';
import { ResultStrip } from '../../components/ResultStrip';
import { EmptyState, ErrorState, LoadingState } from '../../components/States';
import { environmentName, formatDuration, formatFullTimestamp } from '../../lib/format';
import { formatChange, formatPercent } from '../../lib/testLinks';

const PAGE = 50;

function StatsSummary({ stats }: { stats: TestStats }) {
  const judged = stats.passed + stats.failed;
  return (
    <dl className="stat-list" aria-label="Statistics over the last results">
      <div>
        <dt>Last {stats.window} results</dt>
        <dd>
          {stats.passed} passed, {stats.failed} failed, {stats.skipped} skipped
        </dd>
      </div>
      <div>
        <dt>Pass rate</dt>
        <dd>{judged > 0 ? formatPercent(stats.passed / judged) : '—'}</dd>
      </div>
      <div>
        <dt>Flip rate</dt>
        <dd>
          {formatPercent(stats.flip_rate)} ({stats.flips} of {stats.flip_pairs} on the same content)
        </dd>
      </div>
      <div>
        <dt>Median duration</dt>
        <dd>{formatDuration(stats.duration_p50_ms)}</dd>
      </div>
      <div>
        <dt>Trend</dt>
        <dd>
          {formatChange(stats.duration_change)} <span className="muted">mean vs the {stats.window} results before</span>
        </dd>
      </div>
    </dl>
  );
}

/** Durations over runs, oldest left; failed results are marked. */
function DurationChart({ entries }: { entries: readonly TestHistoryEntry[] }) {
  const data = entries
    .filter((e) => e.outcome !== 'skipped')
    .map((e) => ({ run: e.run_id, ms: e.duration_ms, failed: e.outcome === 'passed' ? null : e.duration_ms }))
    .reverse();
  if (data.length < 2) return <p className="muted">Not enough results for a trend yet.</p>;
  return (
    <figure className="chart" aria-labelledby="duration-chart-caption" data-testid="duration-chart">
      <figcaption id="duration-chart-caption" className="chart__caption">
        Duration per run, oldest first ({data.length} runs; failures marked in red)
      </figcaption>
      <div className="chart__plot">
        <ResponsiveContainer width="100%" height={220}>
          <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
            <XAxis dataKey="run" tickFormatter={(v: number) => `#${v}`} stroke="var(--text-muted)" fontSize={12} />
            <YAxis tickFormatter={(v: number) => formatDuration(v)} stroke="var(--text-muted)" fontSize={12} width={64} />
            <Tooltip formatter={(v) => formatDuration(Number(v))} labelFormatter={(v) => `Run #${String(v)}`} />
            <Line type="monotone" dataKey="ms" name="duration" stroke="var(--primary)" dot={false} isAnimationActive={false} />
            <Scatter dataKey="failed" name="failed" fill="var(--danger)" isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

function HistoryTable({ entries }: { entries: readonly TestHistoryEntry[] }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Results of this test, newest first">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Outcome</th>
            <th scope="col">Duration</th>
            <th scope="col">Environment</th>
            <th scope="col">User</th>
            <th scope="col">Finished</th>
            <th scope="col">Content</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e, i) => {
            const changed = i + 1 < entries.length && e.content_hash !== entries[i + 1]!.content_hash;
            return (
              <tr key={`${e.run_id}-${i}`} data-outcome={e.outcome}>
                <td>
                  <Link to={`/runs/${e.run_id}`}>#{e.run_id}</Link>
                </td>
                <td>
                  <span className={`outcome outcome--${e.outcome}`}>{e.outcome}</span>
                </td>
                <td>{formatDuration(e.duration_ms)}</td>
                <td>{environmentName(e.environment_id)}</td>
                <td>{e.requested_by}</td>
                <td>{formatFullTimestamp(e.finished_at)}</td>
                <td>
                  <code title={e.content_hash ?? 'unknown content'}>{e.content_hash ? e.content_hash.slice(0, 8) : '—'}</code>
                  {changed && <span className="muted"> (changed)</span>}
                </td>
                <td className="table__message">{e.message}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** One test's history: its statistics, recent-runs strip, duration trend and every result. */
export function TestHistory({ nodeId }: { nodeId: string }) {
  // Cursors of the pages before the current one, to go back.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const query = useTestHistory({ node_id: nodeId, limit: PAGE, ...(cursor ? { cursor } : {}) });
  if (nodeId === '') return <EmptyState title="No test chosen">Open a test from a run's results.</EmptyState>;
  if (query.isPending) return <LoadingState label="Loading the test's history…" />;
  if (query.isError && !query.data) return <ErrorState title="Could not load the test's history" error={query.error} />;
  const h = query.data!;
  return (
    <>
      <div className="page-title">
        <h1 className="test-title">
          <code>{h.node_id}</code> {h.stats?.flaky && <FlakyBadge />}
        </h1>
      </div>
      <section className="card" aria-labelledby="test-recent-title">
        <header className="card__header">
          <h2 className="card__title" id="test-recent-title">
            Recent runs
          </h2>
        </header>
        <div className="card__body">
          {h.stats ? (
            <>
              <ResultStrip results={h.stats.recent} label={`The last ${h.stats.recent.length} results, oldest first`} />
              <StatsSummary stats={h.stats} />
            </>
          ) : (
            <p className="muted">No statistics yet.</p>
          )}
          <DurationChart entries={h.items} />
        </div>
      </section>
      <section className="card" aria-labelledby="test-history-title">
        <header className="card__header">
          <h2 className="card__title" id="test-history-title">
            History
          </h2>
          <div className="card__actions">
            <button type="button" className="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Newer
            </button>
            <button
              type="button"
              className="button"
              disabled={!h.next_cursor}
              onClick={() => h.next_cursor && setCursors((c) => [...c, h.next_cursor!])}
            >
              Older
            </button>
          </div>
        </header>
        <div className="card__body">{h.items.length === 0 ? <p className="muted">No results.</p> : <HistoryTable entries={h.items} />}</div>
      </section>
    </>
  );
}
