package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Appender stores a run's log. LogWriter calls it one call at a time, in
// order; offset is the byte offset of text's first byte in the whole log, so
// consecutive calls are contiguous. After a failed call LogWriter repeats the
// very same (offset, text), so an implementation that may have stored it
// despite reporting an error can recognise the duplicate by its offset.
type Appender interface {
	AppendLog(ctx context.Context, runID int64, offset int64, text string) error
}

// Defaults for the zero values of LogOptions' fields.
const (
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxChunk      = 256 << 10
	DefaultLogLimit      = 10 << 20
)

// Retry policy of one flush. A chunk still failing after these is kept and
// tried again at the next flush; the attempt timeout stops a hung database
// from stalling the flusher for ever.
const (
	appendAttempts = 4
	appendBackoff  = 50 * time.Millisecond
	appendTimeout  = 10 * time.Second
)

// LogOptions tunes a LogWriter; zero fields take the defaults.
type LogOptions struct {
	// FlushInterval is how often buffered output is stored, so a line a test
	// prints shows up in the log promptly. Default 200ms.
	FlushInterval time.Duration
	// MaxChunk is the largest text of one append; a buffer this full is
	// flushed at once. Default 256 KiB.
	MaxChunk int
	// Limit is the total number of bytes kept; output beyond it is dropped
	// after one truncation notice. Default 10 MiB.
	Limit int64
}

// LogWriter is an io.Writer that sanitizes a run's output into valid UTF-8
// without NUL bytes (PostgreSQL text), batches it, and appends it to an
// Appender from a background goroutine. Write never waits for the Appender
// and never fails, so the child process is always drained; memory stays
// bounded by Limit. LogWriter is safe for concurrent use.
type LogWriter struct {
	a     Appender
	runID int64
	opts  LogOptions

	mu        sync.Mutex
	buf       []byte // sanitized output not yet handed to the Appender
	tail      []byte // incomplete UTF-8 sequence awaiting its next bytes
	kept      int64  // sanitized bytes accepted so far, counted against Limit
	truncated bool
	closed    bool

	// Owned by the flusher goroutine until it exits, then by Close.
	inflight []byte // chunk that failed; retried verbatim
	offset   int64  // offset of the next chunk
	failure  error  // first error of the current unresolved failure streak

	stored atomic.Int64
	kick   chan struct{}
	quit   chan struct{}
	done   chan struct{}
	// bgCtx bounds the flusher's appends; Close cancels it if its own
	// context ends while the flusher is mid-append.
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// NewLogWriter returns a LogWriter appending run runID's log to a, starting
// at offset 0, and starts its flusher. Close must be called to stop it.
func NewLogWriter(a Appender, runID int64, opts LogOptions) *LogWriter {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxChunk <= 0 {
		opts.MaxChunk = DefaultMaxChunk
	}
	if opts.Limit <= 0 {
		opts.Limit = DefaultLogLimit
	}
	w := &LogWriter{
		a:     a,
		runID: runID,
		opts:  opts,
		kick:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	w.bgCtx, w.bgCancel = context.WithCancel(context.Background())
	go w.flusher()
	return w
}

// Write accepts p for storage and always reports success, so whoever drains
// the child never stops reading. Output after Limit, or after Close, is
// dropped.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.truncated {
		return len(p), nil
	}
	in := p
	if len(w.tail) > 0 {
		in = slices.Concat(w.tail, p)
	}
	var s []byte
	s, w.tail = sanitize(nil, in, false)
	// Copy the tail: it may alias p, which the caller will reuse.
	w.tail = append([]byte(nil), w.tail...)
	w.accept(s)
	if len(w.buf) >= w.opts.MaxChunk {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// accept buffers sanitized text up to Limit, then the truncation notice.
// Called with mu held.
func (w *LogWriter) accept(s []byte) {
	room := w.opts.Limit - w.kept
	if int64(len(s)) <= room {
		w.buf = append(w.buf, s...)
		w.kept += int64(len(s))
		return
	}
	cut := int(room)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	w.buf = append(w.buf, s[:cut]...)
	w.kept += int64(cut)
	w.buf = append(w.buf, fmt.Sprintf("\n=== log truncated: output exceeded %s ===\n", humanBytes(w.opts.Limit))...)
	w.truncated = true
	w.tail = nil
}

// FlushSoon asks the flusher to store what is buffered now rather than at
// its next tick, without waiting for it (it implements OutputFlusher). Run
// calls it once the run's last process is gone, so the log's tail is stored
// while the supervisor exits and the workspace is removed, and Close, right
// after, usually finds nothing left to store.
func (w *LogWriter) FlushSoon() {
	select {
	case w.kick <- struct{}{}:
	default: // a kick is already pending
	}
}

// Size returns the number of bytes stored by the Appender so far.
func (w *LogWriter) Size() int64 { return w.stored.Load() }

// Close stores everything written so far, including a held-back incomplete
// character as U+FFFD, and stops the flusher. It returns nil if all output
// was stored; otherwise the first error of the failure that lost output
// (output that failed once but was stored on a later attempt is not an
// error). When ctx ends, Close gives up and returns ctx's error.
func (w *LogWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	if len(w.tail) > 0 && !w.truncated {
		s, _ := sanitize(nil, w.tail, true)
		w.accept(s)
	}
	w.tail = nil
	w.mu.Unlock()

	close(w.quit)
	select {
	case <-w.done:
	case <-ctx.Done():
		w.bgCancel()
		<-w.done
	}
	defer w.bgCancel()

	for {
		if ctx.Err() != nil {
			return w.closeErr(ctx.Err())
		}
		more, err := w.flushOnce(ctx)
		if err != nil {
			return w.closeErr(err)
		}
		if !more {
			return nil
		}
	}
}

func (w *LogWriter) closeErr(err error) error {
	if w.failure != nil {
		err = w.failure
	}
	return fmt.Errorf("run %d: storing log at offset %d: %w", w.runID, w.offset, err)
}

// flusher stores the buffer every FlushInterval, and at once when a Write
// fills a chunk.
func (w *LogWriter) flusher() {
	defer close(w.done)
	t := time.NewTicker(w.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-t.C:
		case <-w.kick:
		}
		for {
			more, err := w.flushOnce(w.bgCtx)
			if err != nil || !more {
				break
			}
			select {
			case <-w.quit:
				return
			default:
			}
		}
	}
}

// flushOnce appends one chunk: the failed one if any, else up to MaxChunk
// bytes of the buffer. more reports whether output remains to store.
func (w *LogWriter) flushOnce(ctx context.Context) (more bool, err error) {
	if w.inflight == nil {
		w.mu.Lock()
		w.inflight = w.takeChunk()
		w.mu.Unlock()
	}
	if w.inflight == nil {
		return false, nil
	}
	if err := w.appendWithRetry(ctx, string(w.inflight)); err != nil {
		if w.failure == nil {
			w.failure = err
		}
		return true, err
	}
	w.failure = nil
	w.offset += int64(len(w.inflight))
	w.stored.Store(w.offset)
	w.inflight = nil
	w.mu.Lock()
	more = len(w.buf) > 0
	w.mu.Unlock()
	return more, nil
}

// takeChunk removes up to MaxChunk bytes from the buffer without splitting a
// character. Called with mu held.
func (w *LogWriter) takeChunk() []byte {
	if len(w.buf) == 0 {
		return nil
	}
	n := len(w.buf)
	if n > w.opts.MaxChunk {
		n = w.opts.MaxChunk
		for n > 0 && !utf8.RuneStart(w.buf[n]) {
			n--
		}
		if n == 0 { // MaxChunk smaller than one character
			_, n = utf8.DecodeRune(w.buf)
		}
	}
	chunk := append([]byte(nil), w.buf[:n]...)
	rest := copy(w.buf, w.buf[n:])
	w.buf = w.buf[:rest]
	return chunk
}

func (w *LogWriter) appendWithRetry(ctx context.Context, text string) error {
	var err error
	backoff := appendBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, appendTimeout)
		err = w.a.AppendLog(actx, w.runID, w.offset, text)
		cancel()
		if err == nil || attempt == appendAttempts {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff *= 2
	}
}

// humanBytes renders a limit the way it was probably configured.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sanitize appends p to dst as valid UTF-8 without NUL bytes, replacing each
// invalid byte and each NUL with U+FFFD. Unless final, an incomplete but
// possibly valid sequence at the end of p is not converted but returned as
// rest, so a character split across two writes survives.
func sanitize(dst, p []byte, final bool) (out, rest []byte) {
	for i := 0; i < len(p); {
		b := p[i]
		if b < utf8.RuneSelf {
			if b == 0 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, b)
			}
			i++
			continue
		}
		if !final && !utf8.FullRune(p[i:]) {
			return dst, p[i:]
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, p[i:i+size]...)
		}
		i += size
	}
	return dst, nil
}
