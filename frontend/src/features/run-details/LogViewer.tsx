import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';

interface LogViewerProps {
  pieces: string[];
  complete: boolean;
  /** Shown while there is no text yet. */
  placeholder: string;
}

/** One immutable slice of the log; memo keeps React from touching it again. */
const LogPiece = memo(function LogPiece({ text }: { text: string }) {
  return <span className="log__piece">{text}</span>;
});

/** How close (px) to the bottom still counts as "at the bottom". */
const BOTTOM_SLACK = 24;

/**
 * The run's log in a monospace <pre>. It follows new text while the reader is at
 * the bottom, stops following when they scroll up, and resumes at the bottom.
 */
export function LogViewer({ pieces, complete, placeholder }: LogViewerProps) {
  const ref = useRef<HTMLPreElement>(null);
  const contentRef = useRef<HTMLSpanElement>(null);
  const followRef = useRef(true);
  const lastTopRef = useRef(0);
  const [following, setFollowing] = useState(true);

  const setFollow = (on: boolean) => {
    if (followRef.current === on) return;
    followRef.current = on;
    setFollowing(on);
  };

  const pinToBottom = (el: HTMLElement) => {
    el.scrollTop = el.scrollHeight;
    lastTopRef.current = el.scrollTop;
  };

  // New text: stay pinned to the bottom while following.
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && followRef.current) pinToBottom(el);
  }, [pieces]);

  // Off-screen pieces are laid out lazily (content-visibility), so the height can
  // still grow after a render: keep pinned to the bottom when it does.
  useEffect(() => {
    const el = ref.current;
    const content = contentRef.current;
    if (!el || !content || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (followRef.current) {
        el.scrollTop = el.scrollHeight;
        lastTopRef.current = el.scrollTop;
      }
    });
    observer.observe(content);
    return () => observer.disconnect();
  }, []);

  // Only the reader scrolling up stops following (layout growth never moves
  // scrollTop back); reaching the bottom again resumes it.
  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
    if (atBottom) setFollow(true);
    else if (el.scrollTop < lastTopRef.current - 1) setFollow(false);
    lastTopRef.current = el.scrollTop;
  };

  const jumpToBottom = () => {
    const el = ref.current;
    if (!el) return;
    setFollow(true);
    pinToBottom(el);
    el.focus();
  };

  const empty = pieces.length === 0 || (pieces.length === 1 && pieces[0] === '');

  return (
    <div className="log">
      <pre
        ref={ref}
        className="log__text"
        tabIndex={0}
        onScroll={onScroll}
        aria-label="Run log"
        data-testid="run-log"
        data-complete={complete}
      >
        <span className="log__content" ref={contentRef}>
          {empty ? <span className="log__placeholder">{placeholder}</span> : pieces.map((piece, i) => <LogPiece key={i} text={piece} />)}
        </span>
      </pre>
      {!following && !empty && (
        <button type="button" className="button button--floating" onClick={jumpToBottom}>
          {complete ? 'Jump to end ↓' : 'Follow log ↓'}
        </button>
      )}
    </div>
  );
}
