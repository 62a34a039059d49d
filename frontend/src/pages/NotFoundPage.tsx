import { Link } from 'react-router';
import { EmptyState } from '../components/States';
import { useDocumentStatus } from '../lib/useDocumentStatus';

export function NotFoundPage() {
  useDocumentStatus('Not found');
  return (
    <EmptyState title="This page does not exist.">
      <Link to="/">Go to the runs</Link>
    </EmptyState>
  );
}
