import { memo } from 'react';
import { Link } from 'react-router';
import type { Run } from '../../api/types';
import { QueueNote } from '../../components/QueueNote';
import { ProgressMeter, SummaryText } from '../../components/RunOutcome';
import { RelativeTime } from '../../components/RelativeTime';
import { StatusBadge } from '../../components/StatusBadge';
import { elapsedSince, runTarget, formatDuration, formatElapsed } from '../../lib/format';

interface RunsTableProps {
  runs: Run[];
  /** Epoch ms of the latest poll: drives the running clocks. */
  now: number;
  dimmed?: boolean;
  /** The API is not answering: statuses are the last known ones, and clocks stop. */
  stale?: boolean;
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


const RunRow = memo(function RunRow({ run, now, stale }: { run: Run; now: number; stale: boolean }) {
  const live = run.status === 'running' && !stale;
  return (
    <tr data-run-id={run.id} data-status={run.status}>
      <td className="num" data-label="Run">
        <Link to={`/runs/${run.id}`} className="run-link">
          #{run.id}
        </Link>
        {run.rerun_of != null && (
          <span className="rerun-mark" title={`Rerun of #${run.rerun_of}`}>
            <span aria-hidden="true">↻</span>
            <span className="sr-only">rerun of </span>#{run.rerun_of}
          </span>
        )}
      </td>
      <td className="truncate" title={run.requested_by} data-label="User">
        {run.requested_by}
      </td>
      <td data-label="Environment">{runTarget(run)}</td>
      <td data-label="Test files">
        <TestFilesCell files={run.test_files} />
      </td>
      <td data-label="Status" className="runs-table__status">
        <div className="status-cell">
          <StatusBadge run={run} now={now} stale={stale && (run.status === 'running' || run.status === 'queued')} />
          {run.status === 'running' && run.progress && <ProgressMeter progress={run.progress} />}
          {run.status === 'cancelled' && run.cancelled_by && (
            <span className="status-cell__by truncate" title={`Cancelled by ${run.cancelled_by}`}>
              by {run.cancelled_by}
            </span>
          )}
          {run.status !== 'running' && run.summary && <SummaryText summary={run.summary} />}
          {!stale && <QueueNote run={run} now={now} />}
        </div>
      </td>
      <td data-label="Created">
        <RelativeTime iso={run.created_at} now={now} />
      </td>
      <td className={`num ${live ? 'num--live' : ''}`} data-label="Duration">{stale && run.status === 'running' ? '—' : durationText(run, now)}</td>
    </tr>
  );
});

/** The runs list; rows are memoised so a poll only re-renders rows that changed (or tick). */
export function RunsTable({ runs, now, dimmed, stale = false }: RunsTableProps) {
  return (
    <div className={`table-wrap ${dimmed ? 'table-wrap--dimmed' : ''}`}>
      <table className="table runs-table">
        <caption className="sr-only">Runs, newest first</caption>
        {/* Fixed widths: a progress bar coming and going never moves the columns. */}
        <colgroup>
          <col className="col-run" />
          <col className="col-user" />
          <col className="col-env" />
          <col className="col-files" />
          <col className="col-status" />
          <col className="col-created" />
          <col className="col-duration" />
        </colgroup>
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
            <RunRow key={run.id} run={run} now={now} stale={stale} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
