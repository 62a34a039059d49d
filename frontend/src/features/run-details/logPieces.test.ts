import { describe, expect, it } from 'vitest';
import { appendToPieces } from './logPieces';

describe('appendToPieces', () => {
  it('grows the last piece and keeps earlier pieces identical', () => {
    const a = appendToPieces([], 'one\n', 10);
    expect(a).toEqual(['one\n']);
    const b = appendToPieces(a, 'two\n', 10);
    expect(b).toEqual(['one\ntwo\n']);
    const c = appendToPieces(b, 'three\nfour\n', 10);
    expect(c.join('')).toBe('one\ntwo\nthree\nfour\n');
    expect(c[0]).toBe('one\ntwo\n');
    const d = appendToPieces(c, 'x', 10);
    expect(d.slice(0, -1)).toEqual(c.slice(0, -1));
    expect(d.join('')).toBe('one\ntwo\nthree\nfour\nx');
  });

  it('returns the same list for empty text', () => {
    const a = ['abc'];
    expect(appendToPieces(a, '')).toBe(a);
  });

  it('splits a large text at line ends and hard-cuts very long lines', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i}\n`).join('');
    const pieces = appendToPieces([], lines, 4096);
    expect(pieces.join('')).toBe(lines);
    expect(pieces.length).toBeGreaterThan(20);
    for (const p of pieces.slice(0, -1)) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(p.endsWith('\n')).toBe(true);
    }
    const long = 'y'.repeat(25);
    const cut = appendToPieces(['ab'], long, 10);
    expect(cut.join('')).toBe(`ab${long}`);
    expect(Math.max(...cut.map((p) => p.length))).toBeLessThanOrEqual(10);
  });
});
