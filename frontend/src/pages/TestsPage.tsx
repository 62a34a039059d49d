import { FlakyTests, SlowestTests } from '../features/test-lists';
import { useDocumentStatus } from '../lib/useDocumentStatus';

export function TestsPage() {
  useDocumentStatus('Tests');
  return (
    <>
      <div className="page-title">
        <h1>Tests</h1>
      </div>
      <FlakyTests />
      <SlowestTests />
    </>
  );
}
