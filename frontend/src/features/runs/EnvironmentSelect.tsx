import { MAX_ENVIRONMENT_ID, MIN_ENVIRONMENT_ID, type Environment } from '../../api/types';
import { environmentName, pluralize } from '../../lib/format';

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
  if (env.state === 'idle' && env.queued_run_ids.length === 0) return `${name} — idle`;
  const waiting = env.queued_run_ids.length;
  return `${name} — busy${waiting > 0 ? `, ${waiting} waiting` : ''}`;
}

function hint(env: Environment | undefined): string {
  if (!env) return 'Busy environments run one test run at a time; later runs wait in line.';
  const waiting = env.queued_run_ids.length;
  if (env.state === 'idle' && waiting === 0) return `${env.name} is idle: your run starts right away.`;
  const running = env.running_run_id != null ? ` running #${env.running_run_id}` : '';
  return `${env.name} is busy${running}${waiting > 0 ? ` with ${pluralize(waiting, 'run')} waiting` : ''}: your run will be #${waiting + 1} in line.`;
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
