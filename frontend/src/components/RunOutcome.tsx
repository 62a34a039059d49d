import type { Progress, TestSummary } from '../api/types';

/** "3 / 10 tests" with a thin bar, while pytest is running. */
export function ProgressMeter({ progress }: { progress: Progress }) {
  const { completed, total } = progress;
  const pct = total > 0 ? Math.min(100, Math.round((completed / total) * 100)) : 0;
  return (
    <span className="progress" title={`${completed} of ${total} tests done`}>
      <span
        className="progress__bar"
        role="progressbar"
        aria-label="Tests completed"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={completed}
      >
        <span className="progress__fill" style={{ width: `${pct}%` }} />
      </span>
      <span className="progress__text">
        {completed}/{total}
      </span>
    </span>
  );
}

/** "5 passed · 1 failed · 2 skipped" from pytest's report. */
export function SummaryText({ summary }: { summary: TestSummary }) {
  const parts: { n: number; label: string; tone: string }[] = [
    { n: summary.passed, label: 'passed', tone: 'passed' },
    { n: summary.failed, label: 'failed', tone: 'failed' },
    { n: summary.errors, label: summary.errors === 1 ? 'error' : 'errors', tone: 'error' },
    { n: summary.skipped, label: 'skipped', tone: 'skipped' },
  ].filter((p) => p.n > 0);
  if (parts.length === 0) return <span className="summary muted">{summary.total === 0 ? 'no tests' : `${summary.total} tests`}</span>;
  return (
    <span className="summary">
      {parts.map((p, i) => (
        <span key={p.tone} className={`summary__part summary__part--${p.tone}`}>
          {i > 0 && <span aria-hidden="true"> · </span>}
          {p.n} {p.label}
        </span>
      ))}
    </span>
  );
}
