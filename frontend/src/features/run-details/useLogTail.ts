import { useQuery, useQueryClient } from '@tanstack/react-query';
import { getRunLog } from '../../api/client';
import { POLL_MS, queryKeys } from '../../api/queries';
import { appendToPieces } from './logPieces';

export interface LogTail {
  /** The log so far, in pieces; see logPieces.ts. */
  pieces: string[];
  /** The byte offset to ask for next (the server's `next_offset`). */
  nextOffset: number;
  /** True once the run ended and all its text arrived: polling stops. */
  complete: boolean;
  /** The last poll stopped early with more text waiting: poll again soon. */
  more: boolean;
}

const EMPTY: LogTail = { pieces: [], nextOffset: 0, complete: false, more: false };

/** A live page this large suggests the server capped it: read on at once. */
const BIG_PAGE_CHARS = 32 * 1024;
/** Per poll, read at most this much before letting the UI render. */
const MAX_PAGES_PER_POLL = 16;
const MAX_CHARS_PER_POLL = 2 * 1024 * 1024;
const CATCH_UP_MS = 50;

interface Options {
  /** The run has ended: the whole log is there, so read page after page until complete. */
  runEnded?: boolean;
}

/**
 * Tails GET /api/runs/{id}/log: each poll asks only for text after the last
 * `next_offset` and appends it; polling stops once `complete` is true.
 * The accumulated text lives in the query cache, so leaving the page and coming
 * back resumes where it was instead of downloading everything again.
 */
export function useLogTail(runId: number, { runEnded = false }: Options = {}) {
  const queryClient = useQueryClient();
  const key = queryKeys.runLog(runId);
  const query = useQuery({
    queryKey: key,
    queryFn: async ({ signal }): Promise<LogTail> => {
      const prev = queryClient.getQueryData<LogTail>(key) ?? EMPTY;
      if (prev.complete) return prev;
      let { pieces, nextOffset } = prev;
      let complete: boolean;
      let more = false;
      let chars = 0;
      for (let pages = 1; ; pages++) {
        const page = await getRunLog(runId, nextOffset, signal);
        pieces = appendToPieces(pieces, page.text);
        nextOffset = page.next_offset;
        complete = page.complete;
        chars += page.text.length;
        const keepReading = !complete && page.text.length > 0 && (runEnded || page.text.length >= BIG_PAGE_CHARS);
        if (!keepReading) break;
        if (pages >= MAX_PAGES_PER_POLL || chars >= MAX_CHARS_PER_POLL) {
          more = true;
          break;
        }
      }
      // Nothing changed: keep the same object so nothing re-renders.
      if (pieces === prev.pieces && nextOffset === prev.nextOffset && complete === prev.complete && more === prev.more) {
        return prev;
      }
      return { pieces, nextOffset, complete, more };
    },
    // The query function merges pages itself; never refetch "fresh" on mount/focus.
    staleTime: Infinity,
    structuralSharing: false,
    refetchInterval: (q) => {
      const data = q.state.data;
      if (data?.complete) return false;
      return data?.more ? CATCH_UP_MS : POLL_MS;
    },
    enabled: Number.isSafeInteger(runId) && runId > 0,
  });
  return {
    tail: query.data ?? EMPTY,
    isPending: query.isPending,
    error: query.error,
  };
}
