import { EnvironmentsGrid } from '../features/environments';

export function EnvironmentsPage() {
  return (
    <>
      <div className="page-title">
        <h1>Environments</h1>
      </div>
      <EnvironmentsGrid />
    </>
  );
}
