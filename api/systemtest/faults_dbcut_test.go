package systemtest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// A worker cut off from PostgreSQL while it runs a test: whether its
// packets are dropped or its connections refused, its run's processes are
// dead before another worker may reap the run (the lease, not the
// database, decides), the environment's next runs start only after them,
// every queued run runs exactly once, and the cut-off run says why. Judged
// from the records the test processes write.
func TestFaultDatabaseCut(t *testing.T) {
	systemTest(t)
	// One mode with the run in a warm slot, the other started cold: the
	// lease reaches the supervisor on both paths.
	for _, c := range []struct {
		mode  cutMode
		slots string
	}{{cutDrop, "1"}, {cutRefuse, "0"}} {
		t.Run(string(c.mode), func(t *testing.T) {
			t.Parallel()
			testDatabaseCut(t, c.mode, c.slots)
		})
	}
}

func testDatabaseCut(t *testing.T, mode cutMode, warmSlots string) {
	const (
		lostAfter = 4 * time.Second
		env       = 1
	)
	fast := []string{"BATON_WORKER_LOST_AFTER=" + lostAfter.String(), "BATON_HEARTBEAT_INTERVAL=500ms", "BATON_WARM_SLOTS=" + warmSlots}
	r := newRig(t, "")
	r.addFaultTests()
	proxy := startDBProxy(t, r.dbURL)
	api := r.serve("api", append(fast, "BATON_EMBEDDED_WORKER=false")...)
	a := r.worker("worker-a", api.url(), append(fast, "DATABASE_URL="+proxy.url)...)
	if warmSlots != "0" {
		waitWarmProcs(t, a.pid(), 1) // so the run is handed to a warm slot
	}

	// Worker A is alone, so it takes the first run; B comes when A's run
	// has started, and waits with the rest.
	cutOff := api.createRun(env, "sample-tests/test_fault_long.py", 0)
	var queued []run
	for range 3 {
		queued = append(queued, api.createRun(env, "sample-tests/test_fault_short.py", 0))
	}
	r.waitRecorded(env, cutOff.Id, 1, 60*time.Second)
	b := r.worker("worker-b", api.url(), fast...)
	require.Equal(t, a.workerID, dbGetRun(t, r.dbURL, cutOff.Id).WorkerID)
	// The run has lived longer than a lease, so A's heartbeats renew it;
	// and its lease is as fresh as it gets.
	testkit.Eventually(t, 30*time.Second, fmt.Sprintf("run %d to live for %s", cutOff.Id, lostAfter), func() bool {
		if got := api.getRun(cutOff.Id); got.Final() {
			t.Fatalf("%s ended before the cut", got)
		}
		run := r.readRecord(env).runs[cutOff.Id]
		return run.last-run.first >= int64(lostAfter)
	})

	proxy.cut(mode)
	cutAt := monotonicNow(t)
	t.Logf("worker A's database link cut (%s)", mode)
	time.Sleep(lostAfter * 5 / 2)
	proxy.restore()
	restoredAt := monotonicNow(t)
	t.Logf("link restored after %s", time.Duration(restoredAt-cutAt).Round(time.Millisecond))

	lost := api.waitFinal(cutOff.Id, 30*time.Second)
	var done []run
	for _, q := range queued {
		done = append(done, api.waitFinal(q.Id, 60*time.Second))
	}
	rec := r.readRecord(env)
	rec.assertNoOverlap(t)

	// The cut-off run: killed (not ended by itself) before the link came
	// back, never started again, and its outcome and log say why.
	require.EqualValues(t, "error", lost.Status, "%s", lost)
	require.Contains(t, []string{"worker_lost", "lease_expired"}, lost.ReasonText(), "%s", lost)
	cut := rec.runs[cutOff.Id]
	require.Equal(t, 1, cut.starts, "run %d's test should have run exactly once", cutOff.Id)
	require.False(t, cut.procs[0].ended, "run %d's test should have been killed", cutOff.Id)
	require.Greater(t, cut.last, cutAt, "run %d's test should have been alive when the link was cut", cutOff.Id)
	require.Less(t, cut.last, restoredAt, "run %d's test lived until the link came back", cutOff.Id)
	t.Logf("%s; its test's last sign of life %.3f s after the cut", lost, float64(cut.last-cutAt)/1e9)
	log := api.log(cutOff.Id)
	require.True(t, strings.Contains(log, "worker_lost") || strings.Contains(log, "lease expired"),
		"the log of run %d should say why it ended:\n%s", cutOff.Id, log)
	require.Equal(t, warmSlots != "0", strings.Contains(log, "=== warm start:"), "run %d warm (slots: %s)? log:\n%s", cutOff.Id, warmSlots, log)

	// The rest ran, each exactly once, after it.
	for _, d := range done {
		require.EqualValues(t, "success", d.Status, "%s", d)
		require.Equal(t, 1, rec.runs[d.Id].starts, "run %d's test should have run exactly once", d.Id)
		t.Logf("%s on %s, started %.3f s after the cut", d, dbGetRun(t, r.dbURL, d.Id).WorkerID, float64(rec.runs[d.Id].first-cutAt)/1e9)
	}
	// Worker A lived through it and works again: with B gone, it runs
	// the next run.
	require.False(t, a.exited(), "worker A exited: %s", a.exitState())
	require.False(t, b.exited(), "worker B exited: %s", b.exitState())
	b.signal(syscall.SIGTERM)
	require.NoError(t, b.waitExit(30*time.Second), "worker B's shutdown")
	again := api.waitFinal(api.createRun(env+1, "sample-tests/test_fault_short.py", 0).Id, 30*time.Second)
	require.EqualValues(t, "success", again.Status, "%s", again)
	require.Equal(t, a.workerID, dbGetRun(t, r.dbURL, again.Id).WorkerID, "worker A should run %s", again)
}

// cutMode is how the proxy cuts a link.
type cutMode string

const (
	// cutDrop stops forwarding bytes but keeps every connection open, and
	// accepts new ones that go nowhere: packets black-holed, as by a
	// partition. What was sent meanwhile is delivered once the link is
	// restored, as TCP's retransmissions would.
	cutDrop cutMode = "drop"
	// cutRefuse closes every connection and refuses new ones.
	cutRefuse cutMode = "refuse"
)

// dbProxy is a TCP proxy in front of the test PostgreSQL server that a test
// can cut and restore.
type dbProxy struct {
	t      *testing.T
	target string
	addr   string
	// url is the database URL through the proxy.
	url string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	// open is closed while bytes flow; a cut in drop mode replaces it.
	open chan struct{}
}

// startDBProxy starts a proxy on 127.0.0.1 to the server of dbURL; it
// stops with t.
func startDBProxy(t *testing.T, dbURL string) *dbProxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &dbProxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}, open: make(chan struct{})}
	close(p.open)
	u.Host = p.addr
	p.url = u.String()
	p.serve(ln)
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
		select {
		case <-p.open:
		default:
			close(p.open)
		}
		p.closeAll()
	})
	return p
}

func (p *dbProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

// forward connects c to the server and copies both ways, through the gate.
func (p *dbProxy) forward(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	var once sync.Once
	end := func() {
		once.Do(func() {
			c.Close()
			up.Close()
			p.mu.Lock()
			delete(p.conns, c)
			delete(p.conns, up)
			p.mu.Unlock()
		})
	}
	go func() { p.copy(up, c); end() }()
	go func() { p.copy(c, up); end() }()
}

// track records a connection pair, unless the proxy was cut meanwhile in
// refuse mode (then it closes them).
func (p *dbProxy) track(c, up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		up.Close()
		return false
	}
	p.conns[c], p.conns[up] = true, true
	return true
}

// copy moves bytes from src to dst, holding each chunk while the link is
// cut in drop mode.
func (p *dbProxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			open := p.open
			p.mu.Unlock()
			<-open
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, or closed by a cut, by the other direction or by the test's end
		}
	}
}

// closeAll closes every connection; p.mu must be held.
func (p *dbProxy) closeAll() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// cut cuts the link.
func (p *dbProxy) cut(mode cutMode) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch mode {
	case cutDrop:
		p.open = make(chan struct{})
	case cutRefuse:
		// No listener: a connect is refused (RST), and every open
		// connection ends now.
		require.NoError(p.t, p.ln.Close())
		p.ln = nil
		p.closeAll()
	}
}

// restore lets bytes flow again and takes new connections.
func (p *dbProxy) restore() {
	p.t.Helper()
	p.mu.Lock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
	relisten := p.ln == nil
	p.mu.Unlock()
	if relisten {
		ln, err := net.Listen("tcp", p.addr)
		require.NoError(p.t, err, "listen again on %s", p.addr)
		p.serve(ln)
	}
}
