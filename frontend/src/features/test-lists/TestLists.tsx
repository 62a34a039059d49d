import { Link } from 'react-router';
import type { TestStats } from '../../api/types';
import { FlakyBadge } from '../../components/FlakyBadge';
import { ResultStrip } from '../../components/ResultStrip';
import { formatFullTimestamp } from '../../lib/format';
import { testHistoryPath } from '../../lib/testLinks';
import { LIST_WINDOWS } from './windows';

export function WindowSelect({ value, onChange, id }: { value: string; onChange: (v: string) => void; id: string }) {
  return (
    <label className="inline-field" htmlFor={id}>
      Ran in the
      <select id={id} className="input input--small" value={value} onChange={(e) => onChange(e.target.value)}>
        {LIST_WINDOWS.map((w) => (
          <option key={w.value} value={w.value}>
            {w.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function TestCell({ test }: { test: TestStats }) {
  return (
    <>
      <Link to={testHistoryPath(test.node_id)} className="test-link">
        <code>{test.node_id}</code>
      </Link>{' '}
      {test.flaky && <FlakyBadge />}
    </>
  );
}

export function LastSeen({ test }: { test: TestStats }) {
  return (
    <>
      <Link to={`/runs/${test.last_run_id}`}>#{test.last_run_id}</Link> <span className="muted">{formatFullTimestamp(test.last_seen_at)}</span>
    </>
  );
}

export function Strip({ test }: { test: TestStats }) {
  return <ResultStrip results={test.recent} label={`Last ${test.recent.length} results of ${test.node_id}, oldest first`} />;
}
