import { Link, useParams } from 'react-router';
import { EnvironmentDetails } from '../features/environments';

/** "/environments/:id": an environment's state, hold and metadata. */
export function EnvironmentDetailsPage() {
  const { id } = useParams();
  const envId = /^\d+$/.test(id ?? '') ? Number(id) : NaN;
  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/environments">← All environments</Link>
      </nav>
      {/* key: another environment starts with fresh forms */}
      <EnvironmentDetails key={envId} id={envId} />
    </>
  );
}
