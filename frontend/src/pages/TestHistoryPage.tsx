import { useSearchParams } from 'react-router';
import { TestHistory } from '../features/test-history';
import { useDocumentStatus } from '../lib/useDocumentStatus';

export function TestHistoryPage() {
  const [params] = useSearchParams();
  const nodeId = params.get('node_id') ?? '';
  // The test's own name (its node id's last part) tells tabs of several tests apart.
  useDocumentStatus(nodeId ? `${nodeId.split('::').slice(1).join('::') || nodeId} · history` : 'Test history');
  // A new test starts from its newest page.
  return <TestHistory key={nodeId} nodeId={nodeId} />;
}
