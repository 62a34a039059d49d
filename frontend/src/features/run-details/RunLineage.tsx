import { Link } from 'react-router';
import { useRun, useRuns } from '../../api/queries';
import type { Run } from '../../api/types';
import { StatusBadge } from '../../components/StatusBadge';

/** How many of a run's reruns the page lists (the newest); the rest are a filter away. */
export const RERUNS_SHOWN = 5;

/** "Rerun of #12 failed": the original, linked, with its current status. */
export function RerunOf({ run, now }: { run: Run; now: number }) {
  const originalId = run.rerun_of ?? 0;
  const original = useRun(originalId);
  if (!originalId) return null;
  return (
    <span className="lineage" data-field="rerun_of">
      <Link to={`/runs/${originalId}`}>Run #{originalId}</Link>
      {original.data && (
        <>
          {' '}
          <StatusBadge run={original.data} now={now} />
          <span className="muted"> by {original.data.requested_by}</span>
        </>
      )}
    </span>
  );
}

/** The newest reruns of run, each linked with its status; null while it has none. */
export function Reruns({ run, now }: { run: Run; now: number }) {
  const reruns = useRuns({ rerun_of: run.id, limit: RERUNS_SHOWN });
  const page = reruns.data;
  if (!page || page.total === 0) return null;
  return (
    <div data-field="reruns">
      <dt>Reruns ({page.total})</dt>
      <dd>
        <ul className="lineage-list">
          {page.items.map((r) => (
            <li key={r.id}>
              <Link to={`/runs/${r.id}`}>#{r.id}</Link> <StatusBadge run={r} now={now} />
              <span className="muted"> by {r.requested_by}</span>
            </li>
          ))}
        </ul>
        {page.total > page.items.length && (
          <Link className="muted" to={`/?rerun_of=${run.id}`}>
            all {page.total} reruns
          </Link>
        )}
      </dd>
    </div>
  );
}
