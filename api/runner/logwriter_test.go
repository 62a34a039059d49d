package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

type appendCall struct {
	offset int64
	text   string
}

// memAppender is an in-memory Appender that, like a careful database
// implementation, rejects non-contiguous offsets and text PostgreSQL would
// refuse.
type memAppender struct {
	mu      sync.Mutex
	log     strings.Builder
	calls   []appendCall
	fail    func(call int) error // optional; non-nil error fails that call
	block   chan struct{}        // optional; AppendLog waits for it to close
	waiters []waiter
	active  int // concurrent AppendLog calls, to prove they are serialized
}

type waiter struct {
	s  string
	ch chan struct{}
}

func newMemAppender() *memAppender { return &memAppender{} }

func (m *memAppender) AppendLog(ctx context.Context, runID, offset int64, text string) error {
	m.mu.Lock()
	m.active++
	if m.active > 1 {
		m.mu.Unlock()
		panic("concurrent AppendLog calls")
	}
	n := len(m.calls)
	m.calls = append(m.calls, appendCall{offset, text})
	block := m.block
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.active--
		m.mu.Unlock()
	}()

	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(n); err != nil {
			return err
		}
	}
	switch {
	case runID != 42:
		return fmt.Errorf("run id %d", runID)
	case offset != int64(m.log.Len()):
		return fmt.Errorf("offset %d, but %d bytes stored", offset, m.log.Len())
	case !utf8.ValidString(text):
		return fmt.Errorf("invalid UTF-8: %q", text)
	case strings.IndexByte(text, 0) >= 0:
		return fmt.Errorf("NUL byte: %q", text)
	}
	m.log.WriteString(text)
	for i := 0; i < len(m.waiters); i++ {
		if strings.Contains(m.log.String(), m.waiters[i].s) {
			close(m.waiters[i].ch)
			m.waiters = append(m.waiters[:i], m.waiters[i+1:]...)
			i--
		}
	}
	return nil
}

func (m *memAppender) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.String()
}

func (m *memAppender) Calls() []appendCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]appendCall(nil), m.calls...)
}

// waitFor returns a channel closed once the stored log contains s.
func (m *memAppender) waitFor(s string) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan struct{})
	if strings.Contains(m.log.String(), s) {
		close(ch)
	} else {
		m.waiters = append(m.waiters, waiter{s, ch})
	}
	return ch
}

func writeAll(t *testing.T, w *LogWriter, parts ...string) {
	t.Helper()
	for _, p := range parts {
		n, err := w.Write([]byte(p))
		require.NoError(t, err)
		require.Equal(t, len(p), n)
	}
}

// requireContiguous checks every append starts where the previous ended.
func requireContiguous(t *testing.T, calls []appendCall) {
	t.Helper()
	var next int64
	for i, c := range calls {
		require.Equal(t, next, c.offset, "call %d", i)
		next += int64(len(c.text))
	}
}

func TestLogWriterSanitizes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		parts []string
		want  string
	}{
		{"ascii", []string{"hello\n", "world\n"}, "hello\nworld\n"},
		{"two-byte char split", []string{"caf\xc3", "\xa9!"}, "café!"},
		{"four-byte char split thrice", []string{"a\xf0", "\x9f", "\x98", "\x80b"}, "a😀b"},
		{"invalid bytes", []string{"a\xffb\xc3(c\xed\xa0\x80"}, "a\uFFFDb\uFFFD(c\uFFFD\uFFFD\uFFFD"},
		{"NUL", []string{"a\x00b", "\x00"}, "a\uFFFDb\uFFFD"},
		{"incomplete at close", []string{"x\xe2\x82"}, "x\uFFFD\uFFFD"},
		{"held bytes then invalid", []string{"x\xe2", "y"}, "x\uFFFDy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := newMemAppender()
			w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Millisecond})
			writeAll(t, w, tc.parts...)
			require.NoError(t, w.Close(context.Background()))
			require.Equal(t, tc.want, app.String())
			require.Equal(t, int64(len(tc.want)), w.Size())
		})
	}
}

// TestLogWriterNeverSplitsCharacters flushes tiny chunks often, so chunk
// boundaries fall everywhere, and checks each stored chunk is valid.
func TestLogWriterNeverSplitsCharacters(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Millisecond, MaxChunk: 5})
	text := strings.Repeat("é€😀a", 200)
	b := []byte(text)
	for i := 0; i < len(b); i += 3 {
		writeAll(t, w, string(b[i:min(i+3, len(b))]))
	}
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, text, app.String())
	calls := app.Calls()
	requireContiguous(t, calls)
	for _, c := range calls {
		require.True(t, utf8.ValidString(c.text), "%q", c.text)
		require.LessOrEqual(t, len(c.text), 5)
	}
}

func TestLogWriterContiguousOffsets(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Millisecond, MaxChunk: 1000})
	var want strings.Builder
	for i := range 2000 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		writeAll(t, w, line)
	}
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, want.String(), app.String())
	calls := app.Calls()
	require.Greater(t, len(calls), 1)
	requireContiguous(t, calls)
	require.Equal(t, int64(want.Len()), w.Size())
}

func TestLogWriterTruncates(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	w := NewLogWriter(app, 42, LogOptions{Limit: 10})
	// The 10-byte limit falls inside "é": it must not be split.
	writeAll(t, w, "123456789é", "more", "\xffand more")
	require.NoError(t, w.Close(context.Background()))
	want := "123456789\n=== log truncated: output exceeded 10 bytes ===\n"
	require.Equal(t, want, app.String())
	require.Equal(t, int64(len(want)), w.Size())
}

func TestLogWriterExactlyAtLimitIsNotTruncated(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	w := NewLogWriter(app, 42, LogOptions{Limit: 4})
	writeAll(t, w, "ab", "cd")
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, "abcd", app.String())
}

// TestLogWriterBoundedMemory writes 100 MiB while the store is stuck: Write
// must not block, and the buffer must stay within the limit.
func TestLogWriterBoundedMemory(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	app.block = make(chan struct{})
	w := NewLogWriter(app, 42, LogOptions{Limit: 1 << 20, FlushInterval: time.Millisecond})
	chunk := bytes.Repeat([]byte("y"), 32<<10)
	for range 100 << 20 / len(chunk) {
		n, err := w.Write(chunk)
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
	}
	w.mu.Lock()
	buffered := len(w.buf)
	w.mu.Unlock()
	require.LessOrEqual(t, buffered, 1<<20+100)

	close(app.block)
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, 1<<20, strings.Count(app.String(), "y"))
	require.True(t, strings.HasSuffix(app.String(), "\n=== log truncated: output exceeded 1 MiB ===\n"))
}

func TestLogWriterFlushesByInterval(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: 50 * time.Millisecond})
	defer w.Close(context.Background())
	writeAll(t, w, "hello\n")
	select {
	case <-app.waitFor("hello\n"):
	case <-time.After(guard):
		t.Fatal("output was never flushed without Close")
	}
	require.Eventually(t, func() bool { return w.Size() == 6 }, guard, time.Millisecond)
}

// FlushSoon stores what is buffered without waiting for the next tick or
// Close, and Close then has nothing left to store.
func TestLogWriterFlushSoon(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Hour})
	writeAll(t, w, "the tail\n")
	w.FlushSoon()
	select {
	case <-app.waitFor("the tail\n"):
	case <-time.After(guard):
		t.Fatal("FlushSoon did not store the buffered output")
	}
	require.NoError(t, w.Close(context.Background()))
	require.Len(t, app.Calls(), 1, "Close found nothing left to store")
	require.Equal(t, "the tail\n", app.String())
}

func TestLogWriterFlushesFullChunk(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	// An interval this long never fires during the test.
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Hour, MaxChunk: 8})
	defer w.Close(context.Background())
	writeAll(t, w, "0123", "4567", "89")
	select {
	case <-app.waitFor("01234567"):
	case <-time.After(guard):
		t.Fatal("a full chunk was not flushed")
	}
}

func TestLogWriterRetriesSameChunk(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	app.fail = func(call int) error {
		if call < 2 {
			return errors.New("connection reset")
		}
		return nil
	}
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Hour})
	writeAll(t, w, "abc")
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, "abc", app.String())
	require.Equal(t, []appendCall{{0, "abc"}, {0, "abc"}, {0, "abc"}}, app.Calls())
}

// TestLogWriterKeepsChunkAcrossFlushes: a store down for longer than one
// flush's retries loses nothing once it is back.
func TestLogWriterKeepsChunkAcrossFlushes(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	var mu sync.Mutex
	down := true
	app.fail = func(int) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("database is down")
		}
		return nil
	}
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Millisecond})
	writeAll(t, w, "first ")
	require.Eventually(t, func() bool { return len(app.Calls()) > appendAttempts }, guard, time.Millisecond,
		"the flusher keeps trying after a failed flush")
	writeAll(t, w, "second")
	mu.Lock()
	down = false
	mu.Unlock()
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, "first second", app.String())
	for _, c := range app.Calls() {
		if c.offset == 0 {
			require.Equal(t, "first ", c.text, "a failed chunk is retried verbatim")
		}
	}
}

func TestLogWriterReportsLostOutput(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	boom := errors.New("database is down")
	app.fail = func(int) error { return boom }
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Millisecond})
	writeAll(t, w, "lost")
	err := w.Close(context.Background())
	require.ErrorIs(t, err, boom)
	require.Zero(t, w.Size())

	n, werr := w.Write([]byte("after close"))
	require.NoError(t, werr, "Write never fails")
	require.Equal(t, 11, n)
	require.NoError(t, w.Close(context.Background()), "second Close is a no-op")
}

func TestLogWriterCloseGivesUpWithContext(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	app.block = make(chan struct{}) // never closed: the store hangs
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Millisecond})
	writeAll(t, w, "stuck")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, w.Close(ctx), context.Canceled)
}

func TestLogWriterConcurrentWrites(t *testing.T) {
	t.Parallel()
	app := newMemAppender()
	w := NewLogWriter(app, 42, LogOptions{FlushInterval: time.Millisecond, MaxChunk: 64})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				_, _ = w.Write(fmt.Appendf(nil, "g%d-%d\n", g, i))
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close(context.Background()))
	lines := strings.Split(strings.TrimSuffix(app.String(), "\n"), "\n")
	require.Len(t, lines, 2000)
	requireContiguous(t, app.Calls())
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	require.Equal(t, "10 MiB", humanBytes(10<<20))
	require.Equal(t, "256 KiB", humanBytes(256<<10))
	require.Equal(t, "1000 bytes", humanBytes(1000))
}
