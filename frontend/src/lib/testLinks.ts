/** The page of a test's history. */
export function testHistoryPath(nodeId: string): string {
  return `/tests/history?${new URLSearchParams({ node_id: nodeId }).toString()}`;
}

/** A share (0–1) as a whole percentage. */
export function formatPercent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** A relative change (0.25 → "+25%"). */
export function formatChange(change: number | null | undefined): string {
  if (change == null) return '—';
  const pct = Math.round(change * 100);
  return `${pct > 0 ? '+' : ''}${pct}%`;
}
