package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/postgres"
)

func migrateRiver(db *postgres.DB) func(context.Context) error {
	return func(ctx context.Context) error { return jobs.MigrateRiver(ctx, db.Pool) }
}

// TestMigrateEmptyDatabase applies every migration to a database without a
// table, from several processes at once, as replicas starting together do.
func TestMigrateEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyURL(t)
	const starters = 3
	applied := make([][]string, starters)
	errs := make([]error, starters)
	var wg sync.WaitGroup
	for i := range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(ctx, url, 4)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = db.Migrate(ctx, migrateRiver(db))
		}()
	}
	wg.Wait()
	var all []string
	for i := range starters {
		require.NoError(t, errs[i])
		all = append(all, applied[i]...)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(filepath.Base(f), ".sql"))
	}
	require.ElementsMatch(t, want, all, "each migration applied exactly once")

	db, err := postgres.Open(ctx, url, 4)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	again, err := db.Migrate(ctx, migrateRiver(db))
	require.NoError(t, err)
	require.Empty(t, again, "a migrated database needs nothing")

	var envs, riverTables int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM environments`).Scan(&envs))
	require.Equal(t, domain.MaxEnvironmentID, envs)
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'river_job'`).Scan(&riverTables))
	require.Equal(t, 1, riverTables)
}

// TestOneRunningRunPerEnvironment: the database itself refuses a second
// running run in an environment, whatever the code does.
func TestOneRunningRunPerEnvironment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	insert := func(env int) error {
		_, err := db.Pool.Exec(ctx, `INSERT INTO runs (requested_by, environment_id, test_files, status, timeout_seconds, started_at, worker_id)
			VALUES ('t', @env, '["a"]', 'running', 60, now(), 'w')`, pgx.NamedArgs{"env": env})
		return err
	}
	require.NoError(t, insert(1))
	require.NoError(t, insert(2))
	err := insert(1)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, pgerrcode.UniqueViolation, pgErr.Code)
	require.Equal(t, "runs_one_running_per_environment", pgErr.ConstraintName)
}

// TestInEnvironmentSerialises: two transactions on one environment never
// overlap; another environment's does not wait for them.
func TestInEnvironmentSerialises(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stack := pgtest.NewStack(t, pgtest.NewDB(t), time.Minute)
	inFirst, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // a failed check must not leave the first transaction holding its connection
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- stack.Store.InEnvironment(ctx, 7, func(domain.RunTx) error {
			close(inFirst)
			<-release
			return nil
		})
	}()
	<-inFirst

	// Another environment goes ahead while 7 is held.
	require.NoError(t, stack.Store.InEnvironment(ctx, 8, func(domain.RunTx) error { return nil }))

	entered := make(chan time.Time, 1)
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- stack.Store.InEnvironment(ctx, 7, func(domain.RunTx) error {
			entered <- time.Now()
			return nil
		})
	}()
	select {
	case <-entered:
		t.Fatal("a second transaction entered environment 7 while the first held it")
	case <-time.After(200 * time.Millisecond):
	}
	released := time.Now()
	unblock()
	require.NoError(t, <-firstDone)
	require.NoError(t, <-secondDone)
	require.False(t, (<-entered).Before(released))
}

// TestInEnvironmentRollsBack: an error from fn undoes everything it did.
func TestInEnvironmentRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stack := pgtest.NewStack(t, pgtest.NewDB(t), time.Minute)
	boom := errors.New("boom")
	err := stack.Store.InEnvironment(ctx, 3, func(tx domain.RunTx) error {
		if _, err := tx.InsertRun(ctx, domain.NewRun{RequestedBy: "a", EnvironmentID: 3, TestFiles: []string{"x"}, Timeout: time.Minute}); err != nil {
			return err
		}
		if err := tx.EnqueueStart(ctx); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	var runs, jobRows int
	require.NoError(t, stack.DB.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM river_job)`).Scan(&runs, &jobRows))
	require.Zero(t, runs)
	require.Zero(t, jobRows, "the job goes with the transaction that enqueued it")

	err = stack.Store.InEnvironment(ctx, 3, func(tx domain.RunTx) error {
		_, err := tx.InsertRun(ctx, domain.NewRun{RequestedBy: "a", EnvironmentID: 4, TestFiles: []string{"x"}, Timeout: time.Minute})
		return err
	})
	require.Error(t, err, "a run is only inserted under its own environment's lock")
}

// TestAppendLog: a retried append of the same text succeeds; other text at
// a taken offset is a conflict.
func TestAppendLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stack := pgtest.NewStack(t, pgtest.NewDB(t), time.Minute)
	var id int64
	require.NoError(t, stack.DB.Pool.QueryRow(ctx, `INSERT INTO runs (requested_by, environment_id, test_files, timeout_seconds)
		VALUES ('t', 1, '["a"]', 60) RETURNING id`).Scan(&id))
	require.NoError(t, stack.Store.AppendLog(ctx, id, 0, "hello\n"))
	require.NoError(t, stack.Store.AppendLog(ctx, id, 0, "hello\n"), "a retry finds its own text")
	require.ErrorIs(t, stack.Store.AppendLog(ctx, id, 0, "other\n"), domain.ErrLogConflict)
	require.NoError(t, stack.Store.AppendLog(ctx, id, 6, "wörld\n"))
	page, err := stack.Store.ReadLog(ctx, id, 0)
	require.NoError(t, err)
	require.Equal(t, "hello\nwörld\n", page.Text)
	require.False(t, page.Complete, "a queued run's log is not complete")
}

// TestIsUnavailable: the database counts as unavailable by the drivers'
// error types and SQLSTATE classes, never by message text.
func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, connectErr := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.Error(t, connectErr)

	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"nil":                   {nil, false},
		"connection refused":    {connectErr, true},
		"wrapped refusal":       {fmt.Errorf("list runs: %w", connectErr), true},
		"admin shutdown":        {&pgconn.PgError{Code: pgerrcode.AdminShutdown}, true},
		"cannot connect now":    {&pgconn.PgError{Code: pgerrcode.CannotConnectNow}, true},
		"connection exception":  {&pgconn.PgError{Code: pgerrcode.ConnectionFailure}, true},
		"too many connections":  {&pgconn.PgError{Code: pgerrcode.TooManyConnections}, true},
		"unique violation":      {&pgconn.PgError{Code: pgerrcode.UniqueViolation}, false},
		"undefined table":       {&pgconn.PgError{Code: pgerrcode.UndefinedTable, Message: "connection refused"}, false},
		"closed connection":     {fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		"network":               {&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, true},
		"deadline":              {context.DeadlineExceeded, true},
		"database/sql closed":   {sql.ErrConnDone, true},
		"no rows":               {pgx.ErrNoRows, false},
		"text that only looks ": {errors.New("failed to connect: connection refused"), false},
	} {
		require.Equal(t, c.want, postgres.IsUnavailable(c.err), name)
	}
}
