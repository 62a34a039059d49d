import { memo } from 'react';
import { Link } from 'react-router';
import type { Run } from '../../api/types';
import { ProgressMeter, SummaryText } from '../../components/RunOutcome';
import { StatusBadge } from '../../components/StatusBadge';
import { elapsedSince, environmentName, formatDuration, formatElapsed, formatFullTimestamp, formatTimestamp } from '../../lib/format';

interface RunsTableProps {
  runs: Run[];
  /** Epoch ms of the latest poll: drives the running clocks. */
  now: number;
  dimmed?: boolean;
}

function TestFilesCell({ files }: { files: string[] }) {
  const shown = files.slice(0, 2);
  const more = files.length - shown.length;
  return (
    <span className="files-cell" title={files.join('\n')}>
      {shown.map((f) => (
        <span key={f} className="files-cell__file">
          {f}
        </span>
      ))}
      {more > 0 && <span className="files-cell__more">+{more} more</span>}
    </span>
  );
}

function durationText(run: Run, now: number): string {
  if (run.duration_ms != null) return formatDuration(run.duration_ms);
  if (run.status === 'running') {
    const elapsed = elapsedSince(run.started_at, now);
    return elapsed === null ? '—' : formatElapsed(elapsed);
  }
  return '—';
}

function startOfDay(epochMs: number): number {
  const d = new Date(epochMs);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

const RunRow = memo(function RunRow({ run, now }: { run: Run; now: number }) {
  const live = run.status === 'running';
  return (
    <tr data-run-id={run.id} data-status={run.status}>
      <td className="num">
        <Link to={`/runs/${run.id}`} className="run-link">
          #{run.id}
        </Link>
      </td>
      <td className="truncate" title={run.requested_by}>
        {run.requested_by}
      </td>
      <td>{environmentName(run.environment_id)}</td>
      <td>
        <TestFilesCell files={run.test_files} />
      </td>
      <td>
        <div className="status-cell">
          <StatusBadge run={run} now={now} />
          {run.status === 'running' && run.progress && <ProgressMeter progress={run.progress} />}
          {run.status !== 'running' && run.summary && <SummaryText summary={run.summary} />}
        </div>
      </td>
      <td title={formatFullTimestamp(run.created_at)}>
        <time dateTime={run.created_at}>{formatTimestamp(run.created_at, now)}</time>
      </td>
      <td className={`num ${live ? 'num--live' : ''}`}>{durationText(run, now)}</td>
    </tr>
  );
});

/** The runs list; rows are memoised so a poll only re-renders rows that changed (or tick). */
export function RunsTable({ runs, now, dimmed }: RunsTableProps) {
  return (
    <div className={`table-wrap ${dimmed ? 'table-wrap--dimmed' : ''}`}>
      <table className="table runs-table">
        <caption className="sr-only">Runs, newest first</caption>
        <thead>
          <tr>
            <th scope="col" className="num">
              Run
            </th>
            <th scope="col">Username</th>
            <th scope="col">Environment</th>
            <th scope="col">Test files</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col" className="num">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            // Only running rows need the ticking clock; the others get the start of today
            // (enough to format "created"), which stays constant so memo skips them.
            <RunRow key={run.id} run={run} now={run.status === 'running' ? now : startOfDay(now)} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
