import { describe, expect, it } from 'vitest';
import { formatChange, formatPercent, testHistoryPath } from './testLinks';

describe('test links', () => {
  it('puts the node id in the query, encoded', () => {
    expect(testHistoryPath('a/test_x.py::T::test[1 & 2]')).toBe('/tests/history?node_id=a%2Ftest_x.py%3A%3AT%3A%3Atest%5B1+%26+2%5D');
    expect(new URLSearchParams(testHistoryPath('a b::c').split('?')[1]).get('node_id')).toBe('a b::c');
  });
  it('formats shares and changes', () => {
    expect(formatPercent(0.4833)).toBe('48.3%');
    expect(formatChange(0.5)).toBe('+50%');
    expect(formatChange(-0.25)).toBe('-25%');
    expect(formatChange(null)).toBe('—');
  });
});
