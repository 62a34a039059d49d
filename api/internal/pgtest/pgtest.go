// Package pgtest gives tests a real, migrated PostgreSQL database of their
// own. A template database is migrated once (per schema version) and every
// test gets a fresh copy of it, so tests are isolated, may run in parallel,
// and never see a mocked database.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/environments"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/postgres"
	"github.com/baton-ci/baton/api/runs"
)

// AdminURL is the server used for tests: BATON_TEST_DATABASE_URL, else the
// local PostgreSQL with trust authentication.
func AdminURL() string {
	if u := os.Getenv("BATON_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// URLFor returns AdminURL with its database replaced by name.
func URLFor(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func adminExec(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return fmt.Errorf("connect to test PostgreSQL at %s (set BATON_TEST_DATABASE_URL): %w", AdminURL(), err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// schemaVersion names the template after the binary's migrations, so a
// changed migration never reuses a stale template.
func schemaVersion() string {
	h := sha256.New()
	_, _ = h.Write([]byte(postgres.MigrationsDigest()))
	_, _ = h.Write([]byte(jobs.RiverVersion()))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func ensureTemplate() (string, error) {
	templateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		name := "baton_tpl_" + schemaVersion()
		conn, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			templateErr = fmt.Errorf("connect to test PostgreSQL at %s (set BATON_TEST_DATABASE_URL): %w", AdminURL(), err)
			return
		}
		defer conn.Close(ctx)
		// Test packages run as parallel processes; one builds the template.
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
			templateErr = err
			return
		}
		defer func() { _, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(4242)`) }()
		var ready bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&ready); err != nil {
			templateErr = err
			return
		}
		if !ready {
			_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name)
			if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
				templateErr = err
				return
			}
			db, err := postgres.Open(ctx, URLFor(name), 4)
			if err != nil {
				templateErr = err
				return
			}
			_, err = db.Migrate(ctx, func(ctx context.Context) error { return jobs.MigrateRiver(ctx, db.Pool) })
			db.Close()
			if err != nil {
				templateErr = err
				return
			}
			if _, err := conn.Exec(ctx, `ALTER DATABASE `+name+` WITH is_template true ALLOW_CONNECTIONS false`); err != nil {
				templateErr = err
				return
			}
		}
		templateName = name
	})
	return templateName, templateErr
}

// NewURL creates a fresh migrated database for t, dropped when t ends, and
// returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	tpl, err := ensureTemplate()
	require.NoError(t, err)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "baton_test_" + strings.ToLower(hex.EncodeToString(b))
	ctx := context.Background()
	require.NoError(t, adminExec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tpl))
	t.Cleanup(func() {
		_ = adminExec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return URLFor(name)
}

// NewEmptyURL creates a fresh database without any table for t, dropped
// when t ends, and returns its URL: for testing the migrations themselves.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "baton_empty_" + hex.EncodeToString(b)
	require.NoError(t, adminExec(context.Background(), `CREATE DATABASE `+name+` TEMPLATE template0`))
	t.Cleanup(func() {
		_ = adminExec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return URLFor(name)
}

// NewDB returns an open connection pool on a fresh migrated database.
func NewDB(t testing.TB) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, NewURL(t), 30)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// Stack is Baton's storage and run service over one database, wired as
// cmd/baton wires them.
type Stack struct {
	DB    *postgres.DB
	Store *postgres.Store
	Runs  *runs.Service
	// Environments is the environment service on Store.
	Environments *environments.Service
}

// NewStack returns the storage and the run service on db, with runs
// defaulting to defaultTimeout.
func NewStack(t testing.TB, db *postgres.DB, defaultTimeout time.Duration) *Stack {
	t.Helper()
	enq, err := jobs.NewEnqueuer(db.Pool)
	require.NoError(t, err)
	store := postgres.NewStore(db, enq)
	return &Stack{DB: db, Store: store, Runs: runs.New(store, defaultTimeout), Environments: environments.New(store, nil)}
}
