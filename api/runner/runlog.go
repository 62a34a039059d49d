package runner

import (
	"fmt"
	"io"
	"sync"
)

// runLog is what a run writes to its log: the tests' output, with secrets
// masked, and Baton's own lines ("=== … ==="), each of which starts on a
// line of its own even when the tests' output ended mid-line, so it is never
// glued to a test's unterminated print. It never fails: errors writing to
// the underlying writer are dropped, so the child is always drained.
type runLog struct {
	mu      sync.Mutex
	out     io.Writer
	mask    *masker
	buf     []byte
	midLine bool // the last byte written was not a newline
}

func newRunLog(out io.Writer, secrets []string) *runLog {
	return &runLog{out: out, mask: newMasker(secrets)}
}

// Write stores test output.
func (l *runLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emit(l.mask.write(l.buf[:0], p))
	return len(p), nil
}

// endOutput releases output held back by the masker: the stream it came
// from has ended.
func (l *runLog) endOutput() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emit(l.mask.flush(l.buf[:0]))
}

// line writes one of Baton's own lines.
func (l *runLog) line(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf[:0]
	if l.midLine {
		b = append(b, '\n')
	}
	b = fmt.Appendf(b, format, args...)
	l.emit(append(b, '\n'))
}

// emit writes b, which may alias l.buf. Called with mu held.
func (l *runLog) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	_, _ = l.out.Write(b)
	l.midLine = b[len(b)-1] != '\n'
	l.buf = b[:0]
}
