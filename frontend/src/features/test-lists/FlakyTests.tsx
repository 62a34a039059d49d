import { useState } from 'react';
import { useFlakyTests } from '../../api/queries';
import { EmptyState, ErrorState, LoadingState } from '../../components/States';
import { formatPercent } from '../../lib/testLinks';
import { LastSeen, Strip, TestCell, WindowSelect } from './TestLists';

/** The flaky tests, highest flip rate first. */
export function FlakyTests() {
  const [window, setWindow] = useState('30d');
  const query = useFlakyTests({ window, limit: 200 });
  let body;
  if (query.isPending) body = <LoadingState label="Loading flaky tests…" />;
  else if (query.isError && !query.data) body = <ErrorState title="Could not load the flaky tests" error={query.error} />;
  else if (query.data!.items.length === 0)
    body = (
      <EmptyState title="No flaky tests">
        No test passed and failed on the same content within its last {query.data!.window} results.
      </EmptyState>
    );
  else
    body = (
      <div className="table-wrap">
        <table className="table" aria-label="Flaky tests by flip rate">
          <thead>
            <tr>
              <th scope="col">Test</th>
              <th scope="col">Flip rate</th>
              <th scope="col">Passed / failed</th>
              <th scope="col">Recent results</th>
              <th scope="col">Last run</th>
            </tr>
          </thead>
          <tbody>
            {query.data!.items.map((t) => (
              <tr key={t.node_id}>
                <td>
                  <TestCell test={t} />
                </td>
                <td>
                  {formatPercent(t.flip_rate)} <span className="muted">({t.flips} of {t.flip_pairs})</span>
                </td>
                <td>
                  {t.passed} / {t.failed}
                </td>
                <td>
                  <Strip test={t} />
                </td>
                <td>
                  <LastSeen test={t} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  return (
    <section className="card" aria-labelledby="flaky-title">
      <header className="card__header">
        <h2 className="card__title" id="flaky-title">
          Flaky tests
        </h2>
        <div className="card__actions">
          <WindowSelect id="flaky-window" value={window} onChange={setWindow} />
        </div>
      </header>
      <div className="card__body">
        <p className="muted">
          A test is flaky when, over its last {query.data?.window ?? 20} results, it both passed and failed on the same test-file content.
          The flip rate is the share of consecutive results on the same content whose outcome differs.
        </p>
        {body}
      </div>
    </section>
  );
}
