// Package postgres is Baton's storage on PostgreSQL, and only that: it
// implements domain.RunStore for the run service and the read-only
// environment and catalog services, and holds no rules and no text for
// users. The scheduler's transactions (create, claim, finish, cancel, reap)
// run on pgx, so River inserts its jobs in them and the per-environment
// advisory lock and the partial unique index stay in plain, named-argument
// SQL; GORM serves the reads and the catalog, where its query builder helps.
// It also owns the schema migrations, ours and River's.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/puddle/v2"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is one connection pool, used by pgx and River directly and by GORM
// through database/sql, so one process holds one pool.
type DB struct {
	Pool *pgxpool.Pool
	SQL  *sql.DB
	Gorm *gorm.DB
}

// Open connects to PostgreSQL at url and checks the connection.
func Open(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	// A broken connection (server restart) is noticed before use rather
	// than failing a request.
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Default.LogMode(logger.Silent),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open GORM: %w", err)
	}
	return &DB{Pool: pool, SQL: sqlDB, Gorm: g}, nil
}

// Close releases every connection.
func (db *DB) Close() {
	_ = db.SQL.Close()
	db.Pool.Close()
}

// Ping checks that the database answers within ctx.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// migrationLockKey is the session advisory lock key that keeps two processes
// starting at once from applying the same migration twice.
const migrationLockKey = 0x6261746f6e // "baton"

// Migrate applies every embedded migration not yet applied, in file-name
// order, each in its own transaction, then runs each of also (River's
// migrations) under the same lock. It is safe to call from many processes
// at once.
func (db *DB) Migrate(ctx context.Context, also ...func(context.Context) error) (applied []string, err error) {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS baton_schema_migrations (
		version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		var done bool
		if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM baton_schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil {
			return applied, err
		}
		if done {
			continue
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return applied, err
		}
		if err := applyMigration(ctx, conn, version, string(body)); err != nil {
			return applied, fmt.Errorf("migration %s: %w", version, err)
		}
		applied = append(applied, version)
	}
	for _, fn := range also {
		if err := fn(ctx); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// MigrationsDigest identifies the embedded migrations, so a test template
// built from other migrations is never reused.
func MigrationsDigest() string {
	names, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		body, _ := migrationFiles.ReadFile(n)
		b.WriteString(n)
		b.Write(body)
	}
	return b.String()
}

func applyMigration(ctx context.Context, conn *sql.Conn, version, body string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO baton_schema_migrations (version) VALUES ($1)`, version); err != nil {
		return err
	}
	return tx.Commit()
}

// IsUnavailable reports whether err means the database could not be reached,
// as opposed to a query that failed on a healthy server. It goes by the
// drivers' typed errors, never by message text: a failed connection
// attempt, a connection that broke or was closed, an error pgx knows
// happened before anything was sent, a timeout, and the SQLSTATEs of
// class 08 (connection exception), 57P01-57P03 (the server is shutting
// down, crashed or not yet accepting connections) and 53300 (too many
// connections).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	// First: a failed connection attempt wraps the server's refusal, whose
	// SQLSTATE (e.g. 55000 for a database not accepting connections) would
	// otherwise read like a failed query.
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		return strings.HasPrefix(code, "08") ||
			code == pgerrcode.AdminShutdown || code == pgerrcode.CrashShutdown || code == pgerrcode.CannotConnectNow ||
			code == pgerrcode.TooManyConnections
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		pgconn.SafeToRetry(err) ||
		pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}
