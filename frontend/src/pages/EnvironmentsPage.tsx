import { EnvironmentsGrid } from '../features/environments';
import { useDocumentStatus } from '../lib/useDocumentStatus';

export function EnvironmentsPage() {
  useDocumentStatus('Environments');
  return (
    <>
      <div className="page-title">
        <h1>Environments</h1>
      </div>
      <EnvironmentsGrid />
    </>
  );
}
