import { Link } from 'react-router';
import { EmptyState } from '../components/States';

export function NotFoundPage() {
  return (
    <EmptyState title="This page does not exist.">
      <Link to="/">Go to the runs</Link>
    </EmptyState>
  );
}
