import { useState } from 'react';
import { Link } from 'react-router';
import { describeApiError } from '../../api/errors';
import { useRunTests } from '../../api/queries';
import { isFinalStatus, type Run, type TestResult } from '../../api/types';
import { FlakyBadge } from '../../components/FlakyBadge';
import { SummaryText } from '../../components/RunOutcome';
import { Spinner } from '../../components/States';
import { formatDuration } from '../../lib/format';
import { testHistoryPath } from '../../lib/testLinks';

const OUTCOME_ORDER: Record<TestResult['outcome'], number> = { failed: 0, error: 1, skipped: 2, passed: 3 };

function ResultRow({ result }: { result: TestResult }) {
  // Failures are open above the log, with their tracebacks; here they start closed.
  const [open, setOpen] = useState(false);
  const hasMessage = result.message.trim() !== '';
  return (
    <li className={`result result--${result.outcome}`}>
      <div className="result__line">
        <span className={`outcome outcome--${result.outcome}`}>{result.outcome}</span>
        <Link to={testHistoryPath(result.node_id)} className="result__id" title="This test's history across runs">
          <code>{result.node_id}</code>
        </Link>
        {result.flaky && <FlakyBadge />}
        <span className="result__time">{formatDuration(result.duration_ms)}</span>
        {hasMessage && (
          <button type="button" className="button button--link" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
            {open ? 'Hide message' : 'Show message'}
          </button>
        )}
      </div>
      {hasMessage && open && <pre className="result__message">{result.message}</pre>}
    </li>
  );
}

/** pytest's per-test outcomes, once the run has ended. */
export function TestResults({ run }: { run: Run }) {
  const query = useRunTests(run);
  const final = isFinalStatus(run.status);
  let body;
  if (!final) {
    body = <p className="muted">Per-test results appear when the run ends.</p>;
  } else if (query.isPending) {
    body = <Spinner label="Loading results…" />;
  } else if (!query.data) {
    body = <p className="text-error">Could not load the results: {describeApiError(query.error, { failed: 'Could not load the results' }).message}</p>;
  } else if (query.data.items.length === 0) {
    const why = query.data.summary
      ? 'The report lists no tests.'
      : run.started_at == null
        ? 'The run never started, so no test ran.'
        : 'pytest wrote no report for this run.';
    body = <p className="muted">{why}</p>;
  } else {
    const items = [...query.data.items].sort((a, b) => OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome]);
    body = (
      <ul className="results" aria-label="Test results">
        {items.map((r, i) => (
          <ResultRow key={`${r.node_id}-${i}`} result={r} />
        ))}
      </ul>
    );
  }
  return (
    <section className="card" aria-labelledby="run-tests-title">
      <header className="card__header">
        <h2 className="card__title" id="run-tests-title">
          Tests
        </h2>
        <div className="card__actions">{query.data?.summary && <SummaryText summary={query.data.summary} />}</div>
      </header>
      <div className="card__body">{body}</div>
    </section>
  );
}
