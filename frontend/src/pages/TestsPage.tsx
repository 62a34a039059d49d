import { FlakyTests, SlowestTests } from '../features/test-lists';

export function TestsPage() {
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
