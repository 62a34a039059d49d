import { useEffect, useState } from 'react';

/**
 * Epoch ms, refreshed every `ms` while `active`: for a clock that is not tied to
 * polling ("last updated 12 s ago" while the API is down). Not for polling data:
 * that is TanStack Query's refetchInterval.
 */
export function useTicker(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    let timer: number;
    const tick = () => {
      setNow(Date.now());
      timer = window.setTimeout(tick, ms);
    };
    timer = window.setTimeout(tick, 0);
    return () => window.clearTimeout(timer);
  }, [active, ms]);
  return now;
}
