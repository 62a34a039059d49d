import { EnvironmentInsights } from '../features/environment-insights';
import { useDocumentStatus } from '../lib/useDocumentStatus';

export function InsightsPage() {
  useDocumentStatus('Insights');
  return (
    <>
      <div className="page-title">
        <h1>Insights</h1>
      </div>
      <EnvironmentInsights />
    </>
  );
}
