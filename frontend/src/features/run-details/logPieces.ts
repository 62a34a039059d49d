// The accumulated log is kept as a list of pieces so that appending new text only
// replaces the last piece: older pieces keep their identity and are never re-rendered.

/** A piece is closed once it holds about this many characters. */
export const PIECE_CHARS = 32 * 1024;

/**
 * Returns a new list with `text` appended. Earlier pieces are shared with `pieces`;
 * only the last one may be replaced, and new ones are cut at line ends when possible.
 */
export function appendToPieces(pieces: readonly string[], text: string, pieceChars: number = PIECE_CHARS): string[] {
  if (text === '') return pieces as string[];
  const out = pieces.slice();
  let rest = text;
  let last = out.length > 0 ? out.pop()! : '';
  while (rest.length > 0) {
    const room = pieceChars - last.length;
    if (rest.length <= room) {
      last += rest;
      break;
    }
    // Close this piece at the last line end that fits, or hard-cut a very long line.
    let cut = room > 0 ? rest.lastIndexOf('\n', room - 1) + 1 : 0;
    if (cut <= 0) cut = last.length === 0 ? pieceChars : 0;
    last += rest.slice(0, cut);
    rest = rest.slice(cut);
    out.push(last);
    last = '';
  }
  out.push(last);
  return out;
}
