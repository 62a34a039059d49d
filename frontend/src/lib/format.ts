// Pure formatting helpers (no React).

/** "850 ms", "2.4 s", "1m 05s", "2h 03m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const value = Math.max(0, ms);
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(value / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

/** Whole-second elapsed time, for a ticking clock: "0s", "12s", "3m 04s", "1h 02m". */
export function formatElapsed(ms: number): string {
  const totalSeconds = Math.max(0, Math.floor(ms / 1000));
  if (totalSeconds < 60) return `${totalSeconds}s`;
  return formatDuration(totalSeconds * 1000);
}

/** Elapsed milliseconds since an ISO timestamp, never negative (clock skew). */
export function elapsedSince(iso: string | null | undefined, now: number): number | null {
  if (!iso) return null;
  const start = Date.parse(iso);
  if (Number.isNaN(start)) return null;
  return Math.max(0, now - start);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
// The zone too: a time on hover is read next to CI logs and chat messages in other zones.
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });

/** Time only for today, else date and time. */
export function formatTimestamp(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const today = new Date(now);
  const sameDay =
    date.getFullYear() === today.getFullYear() && date.getMonth() === today.getMonth() && date.getDate() === today.getDate();
  return sameDay ? timeFormat.format(date) : dateTimeFormat.format(date);
}

export function formatFullTimestamp(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : fullFormat.format(date);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function pluralize(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "sample-tests/test_a.py" → ["sample-tests", "test_a.py"]. */
export function splitPath(path: string): [directory: string, name: string] {
  const i = path.lastIndexOf('/');
  return i < 0 ? ['', path] : [path.slice(0, i), path.slice(i + 1)];
}

export function environmentName(id: number): string {
  return `env${id}`;
}

/**
 * Where a run runs: "env7"; a pooled run "any staging" until it starts, then
 * "env3 (staging)".
 */
export function runTarget(run: { environment_id: number | null; pool: string | null }): string {
  if (run.environment_id == null) return `any ${run.pool ?? 'environment'}`;
  const name = environmentName(run.environment_id);
  return run.pool ? `${name} (${run.pool})` : name;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 days ago". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 2) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** Relative to `now`, for a timestamp: "3 min ago", or the date when it is older than a week. */
export function formatRelative(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  if (now - t > 7 * 24 * 3600_000) return formatTimestamp(iso, now);
  return formatAgo(now - t);
}

/**
 * When a queued run should start, from eta_seconds: "any moment now", "in about 40 s",
 * "in about 3 min", "in about 1 h 20 min"; null when the server has no estimate.
 */
export function formatEta(seconds: number | null | undefined): string | null {
  if (seconds == null || !Number.isFinite(seconds)) return null;
  const s = Math.max(0, Math.round(seconds));
  if (s <= 5) return 'any moment now';
  if (s < 60) return `in about ${Math.ceil(s / 5) * 5} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `in about ${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `in about ${h} h${m > 0 ? ` ${m} min` : ''}`;
}

/** The end of a hold in words: "until released", "until 14:30", "until Dec 2, 09:00". */
export function formatHoldUntil(until: string | null | undefined, now: number = Date.now()): string {
  return until ? `until ${formatTimestamp(until, now)}` : 'until released';
}
