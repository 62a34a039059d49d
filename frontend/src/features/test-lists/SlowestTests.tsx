import { useState } from 'react';
import { useSlowestTests } from '../../api/queries';
import { EmptyState, ErrorState, LoadingState } from '../../components/States';
import { formatDuration } from '../../lib/format';
import { formatChange } from '../../lib/testLinks';
import { LastSeen, Strip, TestCell, WindowSelect } from './TestLists';

/** Tests by median duration over their last results, slowest first, with the trend. */
export function SlowestTests() {
  const [window, setWindow] = useState('30d');
  const query = useSlowestTests({ window, limit: 50 });
  let body;
  if (query.isPending) body = <LoadingState label="Loading the slowest tests…" />;
  else if (query.isError && !query.data) body = <ErrorState title="Could not load the slowest tests" error={query.error} />;
  else if (query.data!.items.length === 0) body = <EmptyState title="No test results in this window" />;
  else
    body = (
      <div className="table-wrap">
        <table className="table" aria-label="Slowest tests by median duration">
          <thead>
            <tr>
              <th scope="col">Test</th>
              <th scope="col">Median</th>
              <th scope="col">Mean</th>
              <th scope="col">Trend</th>
              <th scope="col">Recent results</th>
              <th scope="col">Last run</th>
            </tr>
          </thead>
          <tbody>
            {query.data!.items.map((t) => {
              const change = t.duration_change;
              const trend = change == null ? 'flat' : change > 0.1 ? 'up' : change < -0.1 ? 'down' : 'flat';
              return (
                <tr key={t.node_id}>
                  <td>
                    <TestCell test={t} />
                  </td>
                  <td>{formatDuration(t.duration_p50_ms)}</td>
                  <td>{formatDuration(t.duration_mean_ms)}</td>
                  <td>
                    <span className={`trend trend--${trend}`} title={`Mean of the last ${t.window} results against the ${t.window} before`}>
                      {trend === 'up' ? 'slower ' : trend === 'down' ? 'faster ' : ''}
                      {formatChange(change)}
                    </span>
                  </td>
                  <td>
                    <Strip test={t} />
                  </td>
                  <td>
                    <LastSeen test={t} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    );
  return (
    <section className="card" aria-labelledby="slowest-title">
      <header className="card__header">
        <h2 className="card__title" id="slowest-title">
          Slowest tests
        </h2>
        <div className="card__actions">
          <WindowSelect id="slowest-window" value={window} onChange={setWindow} />
        </div>
      </header>
      <div className="card__body">{body}</div>
    </section>
  );
}
