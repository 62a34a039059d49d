import { Link } from 'react-router';
import type { RecentResult } from '../api/types';
import { formatDuration } from '../lib/format';

/** A test's recent results as pass/fail squares, oldest first, each linking to its run. */
export function ResultStrip({ results, label }: { results: readonly RecentResult[]; label: string }) {
  if (results.length === 0) return <span className="muted">no results</span>;
  return (
    <ol className="result-strip" aria-label={label}>
      {results.map((r) => (
        <li key={r.run_id}>
          <Link
            to={`/runs/${r.run_id}`}
            className={`result-strip__cell result-strip__cell--${r.outcome}`}
            aria-label={`Run #${r.run_id}: ${r.outcome}, ${formatDuration(r.duration_ms)}`}
            title={`Run #${r.run_id}: ${r.outcome}, ${formatDuration(r.duration_ms)}`}
          />
        </li>
      ))}
    </ol>
  );
}
