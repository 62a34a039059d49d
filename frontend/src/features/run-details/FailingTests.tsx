import { Link } from 'react-router';
import { useRunTests } from '../../api/queries';
import type { Run, TestResult } from '../../api/types';
import { formatDuration } from '../../lib/format';
import type { LogModel } from './log/logModel';

/** Tracebacks longer than this are cut in the list; the log link has them whole. */
const MAX_TRACEBACK_LINES = 400;
/** The first few failures open with their traceback; the rest open on demand. */
const OPEN_FIRST = 3;

function Failure({ result, model, open }: { result: TestResult; model: LogModel; open: boolean }) {
  const report = model.findTest(result.node_id);
  const lines = report ? model.plain.slice(report.start + 1, Math.min(report.end, report.start + 1 + MAX_TRACEBACK_LINES)) : [];
  const traceback = lines.join('\n').trim() || result.message.trim();
  return (
    <li className="failure" data-node-id={result.node_id}>
      <details open={open}>
        <summary className="failure__summary">
          <span className={`outcome outcome--${result.outcome}`}>{result.outcome}</span>
          <code className="failure__id">{result.node_id}</code>
          <span className="failure__time">{formatDuration(result.duration_ms)}</span>
        </summary>
        {report && (
          <Link className="failure__link" to={{ hash: `L${report.start + 1}` }} preventScrollReset>
            Line {report.start + 1} of the log
          </Link>
        )}
        {traceback ? <pre className="failure__traceback">{traceback}</pre> : <p className="muted">pytest gave no message.</p>}
      </details>
    </li>
  );
}

/** The failing tests, above the log: each with its traceback and a link to its place in the log. */
export function FailingTests({ run, model, version }: { run: Run; model: LogModel; version: number }) {
  const query = useRunTests(run);
  const failing = (query.data?.items ?? []).filter((r) => r.outcome === 'failed' || r.outcome === 'error');
  if (failing.length === 0) return null;
  return (
    <section className="card failures" aria-labelledby="run-failures-title" data-version={version}>
      <header className="card__header">
        <h2 className="card__title" id="run-failures-title">
          {failing.length === 1 ? '1 failing test' : `${failing.length} failing tests`}
        </h2>
      </header>
      <ul className="failures__list">
        {failing.map((r, i) => (
          <Failure key={`${r.node_id}-${i}`} result={r} model={model} open={i < OPEN_FIRST} />
        ))}
      </ul>
    </section>
  );
}
