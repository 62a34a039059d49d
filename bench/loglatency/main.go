// Command loglatency measures how soon a line a test prints can be read
// through GET /api/runs/{id}/log?offset=: the test prints a line carrying its
// time.time() every 100 ms for ~5 s; a client tails the log every 50 ms and
// records when each line first became visible.
package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	h "github.com/baton-ci/baton/bench/internal/harness"
)

const liveTest = `import time


def test_live_log():
    for i in range(50):
        print("BENCHLINE %d %.6f" % (i, time.time()), flush=True)
        time.sleep(0.1)
`

func main() {
	reps := flag.Int("reps", 3, "runs (each prints 50 lines over ~5 s)")
	every := flag.Duration("poll", 50*time.Millisecond, "tail interval")
	flag.Parse()
	h.Header("loglatency", fmt.Sprintf("line printed → visible via /log?offset=, tail every %s, %d runs × 50 lines", *every, *reps))
	s := h.Start(h.Options{Name: "loglatency", Tests: map[string]string{"test_live_log.py": liveTest}})
	defer s.Stop()

	cpu := h.StartCPU()
	var delays []time.Duration
	var polls, nonEmpty int
	missing := 0
	for rep := 0; rep < *reps; rep++ {
		r, err := s.CreateRun(1, "test_live_log.py")
		if err != nil {
			h.Fatal("%v", err)
		}
		var offset int64
		var partial string
		seen := map[int]bool{}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var page struct {
				NextOffset int64  `json:"next_offset"`
				Text       string `json:"text"`
				Complete   bool   `json:"complete"`
			}
			if err := s.GetJSON(fmt.Sprintf("/api/runs/%d/log?offset=%d", r.Id, offset), &page); err != nil {
				h.Fatal("%v", err)
			}
			at := time.Now()
			polls++
			if page.Text != "" {
				nonEmpty++
			}
			offset = page.NextOffset
			text := partial + page.Text
			lines := strings.Split(text, "\n")
			partial = lines[len(lines)-1] // an unterminated line waits for its end
			for _, l := range lines[:len(lines)-1] {
				i := strings.Index(l, "BENCHLINE ")
				if i < 0 {
					continue
				}
				f := strings.Fields(l[i:])
				if len(f) < 3 {
					continue
				}
				n, err1 := strconv.Atoi(f[1])
				ts, err2 := strconv.ParseFloat(f[2], 64)
				if err1 != nil || err2 != nil || seen[n] {
					continue // pytest's report may repeat captured output
				}
				seen[n] = true
				delays = append(delays, at.Sub(time.Unix(0, int64(ts*1e9))))
			}
			if page.Complete {
				break
			}
			if time.Now().After(deadline) {
				h.Fatal("run %d not complete after 2 minutes", r.Id)
			}
			time.Sleep(*every)
		}
		missing += 50 - len(seen)
		fin, _ := s.GetRun(r.Id)
		fmt.Printf("loglatency: run %d: %s, %d/50 lines seen\n", r.Id, fin.Status, len(seen))
	}
	st := h.Summarize(delays)
	fmt.Printf("loglatency: print → visible  n=%d p50=%s p95=%s max=%s (includes up to %s of tail interval); %d polls, %d with new text, %d lines never seen\n",
		st.N, h.Ms(st.P50), h.Ms(st.P95), h.Ms(st.Max), *every, polls, nonEmpty, missing)
	fmt.Printf("loglatency: target p95 < 500ms: %s\n", h.Verdict(st.P95 < 500*time.Millisecond && missing == 0))
	fmt.Printf("loglatency: machine CPU busy %.0f%% of 2 cores, load %s\n", cpu.Percent(), h.LoadAvg())
}
