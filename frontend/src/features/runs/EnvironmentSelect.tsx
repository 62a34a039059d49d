import { MAX_ENVIRONMENT_ID, MIN_ENVIRONMENT_ID, type Environment } from '../../api/types';
import { environmentName, formatTimestamp, pluralize } from '../../lib/format';

interface EnvironmentSelectProps {
  id: string;
  value: number | null;
  onChange: (id: number | null) => void;
  environments: Environment[] | undefined;
  error?: string;
  errorId: string;
}

const ENVIRONMENT_IDS = Array.from({ length: MAX_ENVIRONMENT_ID - MIN_ENVIRONMENT_ID + 1 }, (_, i) => i + MIN_ENVIRONMENT_ID);

function optionLabel(id: number, env: Environment | undefined): string {
  const name = env?.name ?? environmentName(id);
  if (!env) return name;
  const waiting = env.queued_run_ids.length;
  const queue = waiting > 0 ? `, ${waiting} waiting` : '';
  const labels = env.labels?.length ? ` [${env.labels.join(', ')}]` : '';
  switch (env.state) {
    case 'idle':
      return waiting === 0 ? `${name} — idle${labels}` : `${name} — free${queue}${labels}`;
    case 'held':
      return `${name} — held${env.hold ? ` by ${env.hold.held_by}` : ''}${queue}${labels}`;
    case 'waiting':
      return `${name} — free${queue} for a worker slot${labels}`;
    default:
      return `${name} — busy${queue}${labels}`;
  }
}

function hint(env: Environment | undefined): string {
  if (!env) return 'Busy environments run one test run at a time; later runs wait in line.';
  const waiting = env.queued_run_ids.length;
  const place = `your run will be #${waiting + 1} in line`;
  if (env.state === 'held') {
    const hold = env.hold;
    const until = hold?.until ? `until ${formatTimestamp(hold.until)}` : 'until released';
    return `${env.name} is held${hold ? ` by ${hold.held_by} (${hold.reason}) ${until}` : ''}: ${place}, and it starts after the hold ends.`;
  }
  if (env.state === 'waiting') return `${env.name} is free, but its next run waits for a free worker slot: ${place}.`;
  if (env.state === 'idle' && waiting === 0) return `${env.name} is idle: your run starts right away.`;
  const running = env.running_run_id != null ? ` running #${env.running_run_id}` : '';
  const held = env.hold ? `, then held by ${env.hold.held_by}` : '';
  return `${env.name} is busy${running}${held}${waiting > 0 ? ` with ${pluralize(waiting, 'run')} waiting` : ''}: ${place}.`;
}

/** Environment 1–100 with each one's state and queue length. */
export function EnvironmentSelect({ id, value, onChange, environments, error, errorId }: EnvironmentSelectProps) {
  const byId = new Map((environments ?? []).map((e) => [e.id, e]));
  const hintId = `${id}-hint`;
  const busyCount = (environments ?? []).filter((e) => e.state === 'busy').length;
  return (
    <>
      <select
        id={id}
        className="input"
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value === '' ? null : Number(e.target.value))}
        aria-invalid={error ? true : undefined}
        aria-describedby={[error ? errorId : '', hintId].filter(Boolean).join(' ')}
      >
        <option value="">Choose an environment…</option>
        {ENVIRONMENT_IDS.map((envId) => (
          <option key={envId} value={envId}>
            {optionLabel(envId, byId.get(envId))}
          </option>
        ))}
      </select>
      <p className="field-hint" id={hintId}>
        {value != null
          ? hint(byId.get(value))
          : environments
            ? `${busyCount} of ${environments.length} environments are busy.`
            : 'Loading environment states…'}
      </p>
    </>
  );
}
