import { Link, useParams } from 'react-router';
import { RunDetails } from '../features/run-details';

/** "/runs/:id": works on reload because the Go server falls back to index.html. */
export function RunDetailsPage() {
  const { id } = useParams();
  const runId = /^\d+$/.test(id ?? '') ? Number(id) : NaN;
  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/">← All runs</Link>
      </nav>
      {/* key: a different run starts with fresh local state (scroll, follow) */}
      <RunDetails key={runId} runId={runId} />
    </>
  );
}
