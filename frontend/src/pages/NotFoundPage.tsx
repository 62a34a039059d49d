import { Link } from 'react-router';
import { EmptyState } from '../components/States';
import { useDocumentStatus } from '../lib/useDocumentStatus';

export function NotFoundPage() {
  useDocumentStatus('Not found');
  return (
    <>
      <div className="page-title">
        <h1>Page not found</h1>
      </div>
      <EmptyState title="This page does not exist.">
        <Link to="/">Go to the runs</Link>
      </EmptyState>
    </>
  );
}
