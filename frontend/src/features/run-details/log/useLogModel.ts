import { useMemo, useState } from 'react';
import { LogModel } from './logModel';

/**
 * Feeds the tail's pieces into one LogModel per run. Pieces only ever grow at
 * the end, so each render appends just the text after what was consumed.
 * Returns the model and its version (which changes whenever lines were added).
 */
export function useLogModel(pieces: readonly string[]): { model: LogModel; version: number } {
  const [model] = useState(() => new LogModel());
  const version = useMemo(() => {
    let start = 0;
    const fresh: string[] = [];
    for (const piece of pieces) {
      const end = start + piece.length;
      if (end > model.consumed) fresh.push(piece.slice(Math.max(0, model.consumed - start)));
      start = end;
    }
    model.append(fresh.join(''));
    return model.version;
  }, [pieces, model]);
  return { model, version };
}
