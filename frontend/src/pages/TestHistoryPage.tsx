import { useSearchParams } from 'react-router';
import { TestHistory } from '../features/test-history';

export function TestHistoryPage() {
  const [params] = useSearchParams();
  const nodeId = params.get('node_id') ?? '';
  // A new test starts from its newest page.
  return <TestHistory key={nodeId} nodeId={nodeId} />;
}
