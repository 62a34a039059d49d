import { describe, expect, it } from 'vitest';
import { elapsedSince, formatDuration, formatElapsed, splitPath } from './format';

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(2150)).toBe('2.1 s');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_780_000)).toBe('1h 03m');
  });

  it('formats elapsed time and never goes negative', () => {
    expect(formatElapsed(12_400)).toBe('12s');
    expect(formatElapsed(125_000)).toBe('2m 05s');
    expect(elapsedSince('2026-11-25T10:00:10Z', Date.parse('2026-11-25T10:00:00Z'))).toBe(0);
    expect(elapsedSince(null, 0)).toBeNull();
  });

  it('splits paths', () => {
    expect(splitPath('a/b/test_x.py')).toEqual(['a/b', 'test_x.py']);
    expect(splitPath('test_x.py')).toEqual(['', 'test_x.py']);
  });
});
