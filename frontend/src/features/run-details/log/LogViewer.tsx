import { memo, useDeferredValue, useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { highlight } from './highlight';
import { lineFromHash, type LogModel, type Section } from './logModel';

interface LogViewerProps {
  model: LogModel;
  /** The model's version: changes whenever lines were added. */
  version: number;
  /** All of the log is there (the run ended and the last page arrived). */
  complete: boolean;
  /** The run can still write to its log: offer to follow it. */
  live: boolean;
  /** Shown while there is no text yet. */
  placeholder: string;
  /** The raw log as stored (GET /api/runs/{id}/log.txt). */
  rawUrl: string;
}

/** Every row has this height unless its text wraps (styles.css .log__line). */
const ROW_PX = 20;

/** Lines shown, in order, with collapsed sections folded to their rule line; null when nothing is folded. */
function visibleLines(sections: readonly Section[], lineCount: number, collapsed: ReadonlySet<number>): Int32Array | null {
  if (collapsed.size === 0) return null;
  const out = new Int32Array(lineCount);
  let n = 0;
  let s = 0;
  for (let i = 0; i < lineCount; i++) {
    while (s < sections.length && sections[s]!.end <= i) s++;
    const section = sections[s];
    if (section && collapsed.has(section.start) && i > section.start && i < section.end) continue;
    out[n++] = i;
  }
  return out.subarray(0, n);
}

function rowOfLine(rows: Int32Array | null, line: number): number {
  if (!rows) return line;
  let lo = 0;
  let hi = rows.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]! < line) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface LineProps {
  model: LogModel;
  line: number;
  query: string;
  target: boolean;
  current: boolean;
  section: Section | undefined;
  collapsed: boolean;
  onToggle: (section: Section) => void;
  onPick: (line: number) => void;
}

const LogLine = memo(function LogLine({ model, line, query, target, current, section, collapsed, onToggle, onPick }: LineProps) {
  const parts = highlight(model.segments(line), model.plain[line] ?? '', query);
  const number = line + 1;
  const classes = ['log__body'];
  if (target) classes.push('log__line--target');
  if (current) classes.push('log__line--current');
  if (section) classes.push('log__line--section');
  return (
    <>
      <a
        className="log__num"
        href={`#L${number}`}
        tabIndex={-1}
        aria-label={`Line ${number}`}
        onClick={(e) => {
          e.preventDefault();
          onPick(line);
        }}
      >
        {number}
      </a>
      <span className={classes.join(' ')}>
        {section && (
          <button
            type="button"
            className="log__fold"
            aria-expanded={!collapsed}
            aria-label={`${collapsed ? 'Expand' : 'Collapse'} section “${section.title}”`}
            onClick={() => onToggle(section)}
          >
            {collapsed ? '▸' : '▾'}
          </button>
        )}
        {parts.map((p, i) => {
          const Tag = p.mark ? 'mark' : 'span';
          return (
            <Tag key={i} className={p.className} style={p.style}>
              {p.text}
            </Tag>
          );
        })}
        {section && collapsed && <span className="log__folded"> {section.end - section.start - 1} lines hidden</span>}
        {parts.length === 0 && '\u200b'}
      </span>
    </>
  );
});

/**
 * The run's log as numbered lines in the page's own scroll (no box inside a box),
 * virtualised with measured rows so the scrollbar tells the truth at 100,000 lines.
 */
export function LogViewer({ model, version, complete, live, placeholder, rawUrl }: LogViewerProps) {
  const location = useLocation();
  const navigate = useNavigate();
  const target = lineFromHash(location.hash);
  const searchId = useId();
  const countId = useId();

  const [query, setQuery] = useState('');
  const deferredQuery = useDeferredValue(query);
  const [current, setCurrent] = useState(0);
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  const [following, setFollowing] = useState(live && target === null);
  const listRef = useRef<HTMLDivElement>(null);
  const [scrollMargin, setScrollMargin] = useState(0);

  const lineCount = model.lineCount;
  // version is the model's change counter: these read the mutable model.
  const matches = useMemo(() => model.search(deferredQuery), [model, version, deferredQuery]); // eslint-disable-line react-hooks/exhaustive-deps
  const rows = useMemo(() => visibleLines(model.sections, lineCount, collapsed), [model, version, lineCount, collapsed]); // eslint-disable-line react-hooks/exhaustive-deps
  const sectionAt = useMemo(() => new Map(model.sections.map((s) => [s.start, s])), [model, version]); // eslint-disable-line react-hooks/exhaustive-deps
  const count = rows ? rows.length : lineCount;
  const currentMatch = matches.length > 0 ? matches[Math.min(current, matches.length - 1)]! : -1;

  const virtualizer = useWindowVirtualizer({
    count,
    estimateSize: () => ROW_PX,
    overscan: 30,
    scrollMargin,
  });

  // Where the list starts in the page; what sits above it (header, failures) can change height.
  // The list exists only once there is text, so measure again when it appears.
  const [measured, setMeasured] = useState(false);
  const empty = lineCount === 0;
  useEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const measure = () => {
      setScrollMargin(el.getBoundingClientRect().top + window.scrollY);
      setMeasured(true);
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(document.body);
    return () => observer.disconnect();
  }, [empty]);

  /** Scrolls a line into the middle of the window, unfolding its section. */
  const revealLine = (line: number) => {
    const section = model.sections.find((s) => s.start < line && line < s.end && collapsed.has(s.start));
    if (section) {
      const next = new Set(collapsed);
      next.delete(section.start);
      setCollapsed(next);
      // Scroll after the unfolded rows render.
      requestAnimationFrame(() => virtualizer.scrollToIndex(rowOfLine(visibleLines(model.sections, model.lineCount, next), line), { align: 'center' }));
      return;
    }
    virtualizer.scrollToIndex(rowOfLine(rows, line), { align: 'center' });
  };

  // A #L link: once its line has arrived, scroll to it (once per target).
  const scrolledTo = useRef<number | null>(null);
  useEffect(() => {
    // Wait until the virtualiser knows where the list starts, or the jump lands off by that much.
    if (!measured || target === null || target >= lineCount || scrolledTo.current === target) return;
    scrolledTo.current = target;
    setFollowing(false);
    revealLine(target);
    // revealLine reads the current rows; only a new target or new lines should trigger this.
  }, [target, lineCount, measured]); // eslint-disable-line react-hooks/exhaustive-deps

  // Follow: keep the last line in view while the log grows.
  useEffect(() => {
    if (following && live && count > 0) virtualizer.scrollToIndex(count - 1, { align: 'end' });
  }, [following, live, count, version, virtualizer]);

  // Stop following as soon as the reader scrolls up; pick it up again at the bottom.
  useEffect(() => {
    if (!live) return;
    let last = window.scrollY;
    const stop = () => setFollowing(false);
    const onWheel = (e: WheelEvent) => {
      if (e.deltaY < 0) stop();
    };
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) stop();
    };
    const onScroll = () => {
      const y = window.scrollY;
      const atBottom = window.innerHeight + y >= document.documentElement.scrollHeight - 2 * ROW_PX;
      // Row measurement nudges the position by a few pixels; a drag of the scrollbar moves more.
      if (y < last - 3 * ROW_PX) stop();
      else if (atBottom && y > last) setFollowing(true);
      last = y;
    };
    window.addEventListener('wheel', onWheel, { passive: true });
    window.addEventListener('touchmove', stop, { passive: true });
    window.addEventListener('keydown', onKey);
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      window.removeEventListener('wheel', onWheel);
      window.removeEventListener('touchmove', stop);
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('scroll', onScroll);
    };
  }, [live]);

  const goToMatch = (delta: number) => {
    if (matches.length === 0) return;
    const next = (Math.min(current, matches.length - 1) + delta + matches.length) % matches.length;
    setCurrent(next);
    setFollowing(false);
    revealLine(matches[next]!);
  };

  const onSearchKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      goToMatch(e.shiftKey ? -1 : 1);
    } else if (e.key === 'Escape') {
      setQuery('');
    }
  };

  const pickLine = (line: number) => {
    scrolledTo.current = line; // already in view: no jump
    setFollowing(false);
    navigate({ hash: `L${line + 1}` }, { preventScrollReset: true });
  };

  const toggleSection = (section: Section) => {
    setCollapsed((old) => {
      const next = new Set(old);
      if (next.has(section.start)) next.delete(section.start);
      else next.add(section.start);
      return next;
    });
  };

  const firstFailure = model.firstFailure;
  const items = virtualizer.getVirtualItems();

  return (
    <div className="log" data-testid="run-log" data-complete={complete} data-lines={lineCount}>
      <div className="log__toolbar" role="toolbar" aria-label="Log tools">
        <div className="log__search">
          <label htmlFor={searchId} className="sr-only">
            Search the log
          </label>
          <input
            id={searchId}
            type="search"
            className="input input--small"
            placeholder="Search the log"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setCurrent(0);
            }}
            onKeyDown={onSearchKey}
            aria-describedby={countId}
            autoComplete="off"
            spellCheck={false}
          />
          <span className="log__count" id={countId} data-testid="log-search-count">
            {deferredQuery === '' ? '' : matches.length === 0 ? 'No matches' : `${Math.min(current, matches.length - 1) + 1} of ${matches.length}`}
          </span>
          <button type="button" className="button button--small" onClick={() => goToMatch(-1)} disabled={matches.length === 0} aria-label="Previous match">
            ↑
          </button>
          <button type="button" className="button button--small" onClick={() => goToMatch(1)} disabled={matches.length === 0} aria-label="Next match">
            ↓
          </button>
        </div>
        <div className="log__actions">
          <button
            type="button"
            className="button button--small"
            disabled={firstFailure < 0}
            onClick={() => {
              setFollowing(false);
              navigate({ hash: `L${firstFailure + 1}` }, { preventScrollReset: true });
            }}
          >
            First failure
          </button>
          <a className="button button--small" href={rawUrl} download>
            Download raw
          </a>
          {live && (
            <button type="button" className="button button--small" aria-pressed={following} onClick={() => setFollowing((f) => !f)}>
              {following ? 'Following' : 'Follow'}
            </button>
          )}
        </div>
      </div>
      {empty ? (
        <p className="log__placeholder">{placeholder}</p>
      ) : (
        <div
          ref={listRef}
          className="log__lines"
          role="region"
          aria-label={`Run log, ${lineCount} lines`}
          style={{ height: virtualizer.getTotalSize() }}
        >
          {items.map((item) => {
            const line = rows ? rows[item.index]! : item.index;
            const section = sectionAt.get(line);
            return (
              <div
                key={item.key}
                className="log__row"
                data-index={item.index}
                data-line={line + 1}
                id={`L${line + 1}`}
                ref={virtualizer.measureElement}
                style={{ transform: `translateY(${item.start - virtualizer.options.scrollMargin}px)` }}
              >
                <LogLine
                  model={model}
                  line={line}
                  query={deferredQuery}
                  target={line === target}
                  current={line === currentMatch}
                  section={section}
                  collapsed={section ? collapsed.has(section.start) : false}
                  onToggle={toggleSection}
                  onPick={pickLine}
                />
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}
