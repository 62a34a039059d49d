package runner

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/baton-ci/baton/api/domain"
)

var (
	// "collected 12 items", "collected 1 item", "collected 3 items / 1 error".
	collectedRe = regexp.MustCompile(`collected (\d+) items?`)
	// The verbose result of one test: "... PASSED   [ 50%]".
	resultRe = regexp.MustCompile(`\b(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b.*\[\s*\d+%\]\s*$`)
	// Run's banner before each pytest session of a run of several projects.
	projectRe = regexp.MustCompile(`^=== project \d+/\d+: `)
)

// maxProgressLine bounds the partial line kept between writes, so a test
// printing a huge line without newline cannot grow memory.
const maxProgressLine = 64 << 10

// ProgressCounter is an io.Writer that reads pytest's verbose output and
// counts collected and completed tests, so a running run can show a
// progress bar. It never fails a write.
type ProgressCounter struct {
	mu        sync.Mutex
	partial   []byte
	total     int
	completed int
	collected bool // the current session has printed its collected line
	// before is the total of the sessions before the current one; seen is
	// set once any session has collected.
	before int
	seen   bool
}

// Write scans complete lines of p.
func (pc *ProgressCounter) Write(p []byte) (int, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	data := p
	if len(pc.partial) > 0 {
		data = slices.Concat(pc.partial, p)
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		pc.line(data[:i])
		data = data[i+1:]
	}
	if len(data) > maxProgressLine {
		data = data[len(data)-maxProgressLine:]
	}
	pc.partial = append(pc.partial[:0], data...)
	return len(p), nil
}

func (pc *ProgressCounter) line(l []byte) {
	if projectRe.Match(l) {
		// The next session collects its own tests; the totals add up.
		pc.before, pc.completed, pc.collected = pc.total, min(pc.completed, pc.total), false
		return
	}
	if !pc.collected {
		if m := collectedRe.FindSubmatch(l); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			pc.total = pc.before + n
			pc.collected, pc.seen = true, true
		}
		return
	}
	if resultRe.Match(l) && pc.completed < pc.total {
		pc.completed++
	}
}

// Progress returns the progress so far, or nil before pytest has collected.
func (pc *ProgressCounter) Progress() *domain.Progress {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if !pc.seen {
		return nil
	}
	return &domain.Progress{Completed: pc.completed, Total: pc.total}
}
