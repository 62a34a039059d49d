import { EnvironmentInsights } from '../features/environment-insights';

export function InsightsPage() {
  return (
    <>
      <div className="page-title">
        <h1>Insights</h1>
      </div>
      <EnvironmentInsights />
    </>
  );
}
