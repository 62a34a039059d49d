import type { EnvironmentList } from '../../api/types';
import { pluralize } from '../../lib/format';

interface PoolSelectProps {
  id: string;
  value: string;
  onChange: (pool: string) => void;
  environments: EnvironmentList | undefined;
  error?: string;
  errorId: string;
}

/** How many of a pool's environments could start a run now (free and not held). */
function freeIn(list: EnvironmentList, ids: number[]): number {
  const byId = new Map(list.items.map((e) => [e.id, e]));
  return ids.filter((id) => byId.get(id)?.state === 'idle').length;
}

/** A pool (label) with its size, free environments and queue. */
export function PoolSelect({ id, value, onChange, environments, error, errorId }: PoolSelectProps) {
  const hintId = `${id}-hint`;
  const pools = (environments?.pools ?? []).filter((p) => p.environment_ids.length > 0);
  const chosen = pools.find((p) => p.name === value);
  let hint: string;
  if (!environments) hint = 'Loading pools…';
  else if (pools.length === 0) hint = 'No environment has a label yet: label environments on the Environments page to make pools.';
  else if (!chosen) hint = 'Your run starts in the first environment of the pool that becomes free.';
  else {
    const free = freeIn(environments, chosen.environment_ids);
    const waiting = chosen.queued_run_ids.length;
    hint =
      free > 0 && waiting === 0
        ? `${pluralize(free, 'environment')} of ${chosen.name} ${free === 1 ? 'is' : 'are'} free: your run starts right away.`
        : `Your run takes the first ${chosen.name} environment that becomes free${waiting > 0 ? `, after ${pluralize(waiting, 'run')} already waiting for the pool` : ''}.`;
  }
  return (
    <>
      <select
        id={id}
        className="input"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        disabled={environments !== undefined && pools.length === 0}
        aria-invalid={error ? true : undefined}
        aria-describedby={[error ? errorId : '', hintId].filter(Boolean).join(' ')}
      >
        <option value="">Choose a pool…</option>
        {pools.map((p) => {
          const free = environments ? freeIn(environments, p.environment_ids) : 0;
          const waiting = p.queued_run_ids.length;
          return (
            <option key={p.name} value={p.name}>
              {`${p.name} — ${pluralize(p.environment_ids.length, 'environment')}, ${free} free${waiting > 0 ? `, ${waiting} waiting` : ''}`}
            </option>
          );
        })}
      </select>
      <p className="field-hint" id={hintId}>
        {hint}
      </p>
    </>
  );
}
