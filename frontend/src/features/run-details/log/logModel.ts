// The log as numbered lines, built incrementally as the tail grows: plain text
// (for search), ANSI segments, pytest's sections and where failures start.
import { AnsiLines, segmentsOf, stripAnsi, type AnserState, type Segment } from './ansi';

/** A pytest "===== title =====" rule line starts a section. */
const SECTION_RULE = /^=+ (.+?) =+$/;
/** A "_____ test_name _____" rule line starts one test's report inside FAILURES/ERRORS. */
const TEST_RULE = /^_{3,} (.+?) _{3,}$/;
const JUNIT_NOTE = /^-+ generated xml file: .* -+$/;
const FAILURE_SECTIONS = new Set(['FAILURES', 'ERRORS']);
/** pytest's short summary lines, used when a log has no FAILURES section (e.g. -q --tb=no). */
const SUMMARY_FAILURE = /^(FAILED|ERROR) \S/;

/** `#L120` → line index 119. */
export function lineFromHash(hash: string): number | null {
  const m = /^#L(\d+)$/.exec(hash);
  const n = m ? Number(m[1]) : 0;
  return n >= 1 ? n - 1 : null;
}

export interface Section {
  /** Index of the rule line. */
  start: number;
  /** Index after the last line (the next section's start, or the line count). */
  end: number;
  title: string;
}

export interface TestReport {
  /** pytest's name for it: "test_x", "TestY.test_z[1]", "ERROR at setup of test_x". */
  name: string;
  /** Line index of its "____ name ____" rule. */
  start: number;
  end: number;
}

export class LogModel {
  /** Raw lines (with escapes), without newlines. */
  readonly raw: string[] = [];
  /** The same lines as they read on a terminal. */
  readonly plain: string[] = [];
  /** The ANSI state each styled line starts in; undefined for plain lines. */
  private readonly starts: (AnserState | undefined)[] = [];
  /** Segments of recently shown lines (made on demand). */
  private segCache = new Map<number, Segment[]>();
  readonly sections: Section[] = [];
  readonly tests: TestReport[] = [];
  /** Characters of the source already consumed. */
  consumed = 0;
  /** Bumped on every change, for React. */
  version = 0;
  private partial = false;
  private ansi = new AnsiLines();
  private inFailures = false;
  private failureSection = -1;
  private summaryFailure = -1;
  private stateBeforeLast: ReturnType<AnsiLines['snapshot']> | null = null;

  /** Line index of the first failure (its test's report, else the FAILURES rule, else a summary line), or -1. */
  get firstFailure(): number {
    if (this.tests.length > 0) return this.tests[0]!.start;
    if (this.failureSection >= 0) return this.failureSection;
    return this.summaryFailure;
  }

  get lineCount(): number {
    return this.raw.length;
  }

  /** The styled segments of line i, or undefined when it is plain text. */
  segments(i: number): Segment[] | undefined {
    const start = this.starts[i];
    if (!start) return undefined;
    let segs = this.segCache.get(i);
    if (!segs) {
      segs = segmentsOf(this.raw[i]!, start);
      if (this.segCache.size > 5000) this.segCache.clear();
      this.segCache.set(i, segs);
    }
    return segs;
  }

  /** Appends text that follows what was consumed so far. */
  append(text: string): void {
    if (text === '') return;
    this.consumed += text.length;
    const parts = text.split('\n');
    if (this.partial && this.raw.length > 0) {
      // The last line had no newline yet: it grows, and is read again whole.
      const from = this.raw.length - 1;
      parts[0] = this.raw[from] + parts[0]!;
      this.raw.length = from;
      this.plain.length = from;
      this.starts.length = from;
      this.segCache.delete(from);
      this.unindexFrom(from);
    }
    this.partial = parts.at(-1) !== '';
    if (!this.partial) parts.pop();
    parts.forEach((line, k) => {
      // Remember the state the last line starts in: if it grows, it is read again from there.
      if (k === parts.length - 1) this.stateBeforeLast = this.ansi.snapshot();
      this.push(line);
    });
    this.version++;
  }

  private push(line: string): void {
    const i = this.raw.length;
    const plain = stripAnsi(line).replace(/\r$/, '');
    this.raw.push(line);
    this.plain.push(plain);
    this.starts.push(this.ansi.advance(line) ?? undefined);
    const first = plain.charCodeAt(0);
    const section = first === 61 /* = */ ? SECTION_RULE.exec(plain) : null;
    if (section) {
      const last = this.sections.at(-1);
      if (last) last.end = i;
      this.closeTest(i);
      const title = section[1]!;
      this.sections.push({ start: i, end: i + 1, title });
      this.inFailures = FAILURE_SECTIONS.has(title);
      if (this.inFailures && this.failureSection < 0) this.failureSection = i;
    } else {
      const last = this.sections.at(-1);
      if (last) last.end = i + 1;
      const test = this.inFailures && first === 95 /* _ */ ? TEST_RULE.exec(plain) : null;
      if (test) {
        this.closeTest(i);
        this.tests.push({ name: test[1]!, start: i, end: i + 1 });
      } else {
        const open = this.tests.at(-1);
        if (open && open.end === i) open.end = i + 1;
      }
      if (this.summaryFailure < 0 && (first === 70 || first === 69) && SUMMARY_FAILURE.test(plain)) this.summaryFailure = i;
      // JUnit's "--- generated xml file ---" note follows the last report, not part of it.
      if (first === 45 /* - */ && JUNIT_NOTE.test(plain)) this.closeTest(i);
    }
  }

  private closeTest(at: number): void {
    const open = this.tests.at(-1);
    if (open && open.end > at) open.end = at;
  }

  /** Forgets what line `from` and later contributed, before that line is re-read. */
  private unindexFrom(from: number): void {
    while (this.sections.length && this.sections.at(-1)!.start >= from) this.sections.pop();
    const lastSection = this.sections.at(-1);
    if (lastSection && lastSection.end > from) lastSection.end = from;
    this.inFailures = lastSection ? FAILURE_SECTIONS.has(lastSection.title) : false;
    while (this.tests.length && this.tests.at(-1)!.start >= from) this.tests.pop();
    const lastTest = this.tests.at(-1);
    if (lastTest && lastTest.end > from) lastTest.end = from;
    if (this.summaryFailure >= from) this.summaryFailure = -1;
    if (this.failureSection >= from) this.failureSection = -1;
    // Parse the grown line with the colours in effect where it started.
    if (this.stateBeforeLast) this.ansi.restore(this.stateBeforeLast);
  }

  /** The report of a failing test by its node id ("dir/test_a.py::TestX::test_y[1]"). */
  findTest(nodeId: string): TestReport | undefined {
    const name = nodeId.split('::').slice(1).join('.');
    return this.tests.find((t) => t.name === name || t.name.endsWith(` of ${name}`));
  }

  /** Indexes of the lines containing `query` (case-insensitive). */
  search(query: string): number[] {
    const q = query.toLowerCase();
    if (q === '') return [];
    const out: number[] = [];
    for (let i = 0; i < this.plain.length; i++) if (this.plain[i]!.toLowerCase().includes(q)) out.push(i);
    return out;
  }
}
