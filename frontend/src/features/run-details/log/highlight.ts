import type { Segment } from './ansi';

/** A piece of a rendered line: a segment's text, maybe marked as a search hit. */
export interface Part extends Segment {
  mark?: boolean;
}

/** Splits a line's segments so each occurrence of `query` (case-insensitive) is its own marked part. */
export function highlight(segments: Segment[] | undefined, plain: string, query: string): Part[] {
  const base: Segment[] = segments ?? [{ text: plain }];
  const q = query.toLowerCase();
  if (q === '') return base;
  const hay = plain.toLowerCase();
  const ranges: [number, number][] = [];
  for (let at = hay.indexOf(q); at >= 0; at = hay.indexOf(q, at + q.length)) ranges.push([at, at + q.length]);
  if (ranges.length === 0) return base;
  const out: Part[] = [];
  let offset = 0;
  for (const seg of base) {
    const segStart = offset;
    const segEnd = offset + seg.text.length;
    let cursor = segStart;
    for (const [a, b] of ranges) {
      if (b <= cursor || a >= segEnd) continue;
      const from = Math.max(a, cursor);
      const to = Math.min(b, segEnd);
      if (from > cursor) out.push({ ...seg, text: seg.text.slice(cursor - segStart, from - segStart) });
      out.push({ ...seg, text: seg.text.slice(from - segStart, to - segStart), mark: true });
      cursor = to;
    }
    if (cursor < segEnd) out.push({ ...seg, text: seg.text.slice(cursor - segStart) });
    offset = segEnd;
  }
  return out;
}
