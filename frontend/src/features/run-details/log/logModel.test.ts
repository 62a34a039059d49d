import { describe, expect, it } from 'vitest';
import { highlight } from './highlight';
import { LogModel, lineFromHash } from './logModel';

const E = '\u001b';
const PYTEST = [
  '============================= test session starts ==============================',
  'collected 2 items',
  'test_a.py::test_ok PASSED',
  'test_a.py::TestB::test_bad[1] FAILED',
  '=================================== FAILURES ===================================',
  '____________________________ TestB.test_bad[1] _____________________________',
  'def test_bad():',
  '>       assert 1 == 2',
  'E       assert 1 == 2',
  '--------------------- generated xml file: /tmp/r.xml ---------------------',
  '=========================== short test summary info ============================',
  'FAILED test_a.py::TestB::test_bad[1] - assert 1 == 2',
  '========================= 1 failed, 1 passed in 0.01s ==========================',
  '',
].join('\n');

describe('LogModel', () => {
  it('numbers lines, finds pytest sections, test reports and the first failure', () => {
    const m = new LogModel();
    m.append(PYTEST);
    expect(m.lineCount).toBe(13);
    expect(m.sections.map((s) => [s.title, s.start, s.end])).toEqual([
      ['test session starts', 0, 4],
      ['FAILURES', 4, 10],
      ['short test summary info', 10, 12],
      ['1 failed, 1 passed in 0.01s', 12, 13],
    ]);
    expect(m.firstFailure).toBe(5);
    const report = m.findTest('test_a.py::TestB::test_bad[1]')!;
    expect(report).toMatchObject({ name: 'TestB.test_bad[1]', start: 5, end: 9 });
    expect(m.search('ASSERT 1')).toEqual([7, 8, 11]);
  });

  it('gives the same lines however the text is split, a line that grows included', () => {
    const whole = new LogModel();
    whole.append(PYTEST);
    const split = new LogModel();
    for (let i = 0; i < PYTEST.length; i += 7) split.append(PYTEST.slice(i, i + 7));
    expect(split.plain).toEqual(whole.plain);
    expect(split.sections).toEqual(whole.sections);
    expect(split.tests).toEqual(whole.tests);
    expect(split.consumed).toBe(PYTEST.length);
  });

  it('colours with ANSI escapes, carrying a colour onto the next line and through a split escape', () => {
    const text = `a ${E}[32mgreen\nstill green${E}[0m plain\n${E}[1;31mbold red${E}[0m\nplain\n`;
    for (const step of [text.length, 3]) {
      const m = new LogModel();
      for (let i = 0; i < text.length; i += step) m.append(text.slice(i, i + step));
      expect(m.plain).toEqual(['a green', 'still green plain', 'bold red', 'plain']);
      expect(m.segments(0)).toEqual([{ text: 'a ' }, { text: 'green', className: 'ansi-green-fg' }]);
      expect(m.segments(1)).toEqual([{ text: 'still green', className: 'ansi-green-fg' }, { text: ' plain' }]);
      expect(m.segments(2)).toEqual([{ text: 'bold red', className: 'ansi-red-fg ansi-bold' }]);
      expect(m.segments(3)).toBeUndefined();
    }
  });

  it('keeps 256 and true colours as data', () => {
    const m = new LogModel();
    m.append(`${E}[38;5;196mx${E}[38;2;1;2;3my${E}[0m\n`);
    expect(m.segments(0)).toEqual([
      { text: 'x', style: { color: 'rgb(255, 0, 0)' } },
      { text: 'y', style: { color: 'rgb(1, 2, 3)' } },
    ]);
  });

  it('reads #L links', () => {
    expect(lineFromHash('#L120')).toBe(119);
    expect(lineFromHash('#L0')).toBeNull();
    expect(lineFromHash('#x')).toBeNull();
  });
});

describe('highlight', () => {
  it('marks every hit across segment borders, case-insensitively', () => {
    const parts = highlight([{ text: 'ab', className: 'c' }, { text: 'cAB' }], 'abcAB', 'ab');
    expect(parts).toEqual([
      { text: 'ab', className: 'c', mark: true },
      { text: 'c' },
      { text: 'AB', mark: true },
    ]);
    expect(highlight(undefined, 'xyz', 'q')).toEqual([{ text: 'xyz' }]);
  });
});
