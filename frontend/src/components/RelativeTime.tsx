import { formatFullTimestamp, formatRelative } from '../lib/format';

/** "3 min ago", with the exact time on hover and for assistive tech. */
export function RelativeTime({ iso, now }: { iso: string | null | undefined; now: number }) {
  if (!iso) return <span className="muted">—</span>;
  const exact = formatFullTimestamp(iso);
  return (
    <time dateTime={iso} title={exact}>
      {formatRelative(iso, now)}
    </time>
  );
}
