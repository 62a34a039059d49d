// Test data for the environments feature's tests.
import type { Environment, EnvironmentList } from '../../api/types';

export function makeEnvironment(id: number, over: Partial<Environment> = {}): Environment {
  return { id, name: `env${id}`, state: 'idle', running_run_id: null, queued_run_ids: [], description: '', labels: [], url: '', variables: {}, hold: null, ...over };
}

export function makeEnvironmentList(over: Record<number, Partial<Environment>> = {}, rest: Partial<EnvironmentList> = {}): EnvironmentList {
  const items = Array.from({ length: 100 }, (_, i) => makeEnvironment(i + 1, over[i + 1]));
  const names = [...new Set(items.flatMap((e) => e.labels))].sort();
  return {
    items,
    pools: names.map((name) => ({ name, environment_ids: items.filter((e) => e.labels.includes(name)).map((e) => e.id), queued_run_ids: [] })),
    worker_slots: { workers: 1, total: 8, busy: items.filter((e) => e.state === 'busy').length },
    waiting_for_capacity: 0,
    ...rest,
  };
}
