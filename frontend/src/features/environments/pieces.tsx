import type { Environment } from '../../api/types';

const STATE_TEXT: Record<Environment['state'], string> = { idle: 'idle', busy: 'busy', held: 'held', waiting: 'waiting' };
const STATE_TITLE: Record<Environment['state'], string> = {
  idle: 'Nothing runs and nothing waits',
  busy: 'A run executes here',
  held: 'Held: no run starts here',
  waiting: 'Free, but its next run waits for a free worker slot',
};

/** idle / busy / held / waiting, with what it means on hover. */
export function EnvironmentStatePill({ env }: { env: Pick<Environment, 'state'> }) {
  return (
    <span className={`env-state env-state--${env.state}`} title={STATE_TITLE[env.state]}>
      {STATE_TEXT[env.state]}
    </span>
  );
}

export function EnvironmentLabels({ labels }: { labels: string[] }) {
  return (
    <ul className="label-list" aria-label="Labels">
      {labels.map((l) => (
        <li key={l} className="label-chip">
          {l}
        </li>
      ))}
    </ul>
  );
}
