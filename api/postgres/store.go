package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/baton-ci/baton/api/domain"
)

// Enqueuer inserts, inside the caller's transaction, the job that makes a
// worker look at an environment's queue. Being transactional, the job exists
// exactly when the change that calls for it was committed.
type Enqueuer interface {
	EnqueueStartTx(ctx context.Context, tx *sql.Tx, environmentID int) error
}

// Store is Baton's storage service on PostgreSQL.
type Store struct {
	db  *DB
	enq Enqueuer
	// DefaultTimeout is given to runs created without their own timeout.
	DefaultTimeout time.Duration
}

// NewStore returns a Store that enqueues start jobs through enq.
func NewStore(db *DB, enq Enqueuer, defaultTimeout time.Duration) *Store {
	return &Store{db: db, enq: enq, DefaultTimeout: defaultTimeout}
}

// advisoryNamespace is the first key of every per-environment advisory lock,
// so Baton's locks never collide with another application's in the database.
const advisoryNamespace = 0x42544e // "BTN"

// lockEnvironment takes the transaction-scoped advisory lock of an
// environment. Every decision that changes which run executes in an
// environment (create, claim, finish, cancel, reap) is made under it, so
// "is it free?" and "it is mine now" can never interleave between workers.
// The lock is released by commit or rollback, and by PostgreSQL itself when
// the holder's connection dies.
func lockEnvironment(tx *gorm.DB, environmentID int) error {
	return tx.Exec(`SELECT pg_advisory_xact_lock(?, ?)`, advisoryNamespace, environmentID).Error
}

// inTx runs fn in a transaction; fn receives GORM's handle and the
// underlying *sql.Tx, which River's inserts need.
func (s *Store) inTx(ctx context.Context, fn func(tx *gorm.DB, sqlTx *sql.Tx) error) error {
	return wrapDBError(s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return fmt.Errorf("transaction is %T, not *sql.Tx", tx.Statement.ConnPool)
		}
		return fn(tx, sqlTx)
	}))
}

// wrapDBError turns a lost database into EUNAVAILABLE so the API answers 503
// rather than 500, and leaves every other error alone.
func wrapDBError(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if IsUnavailable(err) {
		return &domain.Error{Code: domain.EUNAVAILABLE, Message: "The database is unavailable; try again shortly."}
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return wrapDBError(s.db.Ping(ctx)) }
