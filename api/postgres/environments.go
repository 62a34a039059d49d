package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// variableJSON is one entry of environments.variables.
type variableJSON struct {
	Value  string `json:"value"`
	Secret bool   `json:"secret"`
}

func decodeVariables(b []byte) ([]domain.Variable, error) {
	m := map[string]variableJSON{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("variables: %w", err)
		}
	}
	out := make([]domain.Variable, 0, len(m))
	for name, v := range m {
		out = append(out, domain.Variable{Name: name, Value: v.Value, Secret: v.Secret})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func encodeVariables(vs []domain.Variable) map[string]variableJSON {
	m := make(map[string]variableJSON, len(vs))
	for _, v := range vs {
		m[v.Name] = variableJSON{Value: v.Value, Secret: v.Secret}
	}
	return m
}

// environmentColumns are what scanEnvironment reads, in its order.
const environmentColumns = `e.id, e.name, e.description, e.labels, e.url, e.variables,
	e.hold_by, coalesce(e.hold_reason, ''), e.hold_since, e.hold_until`

func scanEnvironment(row pgx.CollectableRow) (*domain.Environment, error) {
	e := &domain.Environment{QueuedRunIDs: []int64{}}
	var vars []byte
	var heldBy *string
	var reason string
	var since, until *time.Time
	if err := row.Scan(&e.ID, &e.Name, &e.Description, &e.Labels, &e.URL, &vars, &heldBy, &reason, &since, &until); err != nil {
		return nil, err
	}
	var err error
	if e.Variables, err = decodeVariables(vars); err != nil {
		return nil, fmt.Errorf("environment %d: %w", e.ID, err)
	}
	if e.Labels == nil {
		e.Labels = []string{}
	}
	if heldBy != nil && since != nil {
		e.Hold = &domain.Hold{HeldBy: *heldBy, Reason: reason, Since: since.UTC(), Until: utcPtr(until)}
	}
	return e, nil
}

// Environments implements domain.EnvironmentStore. The hold is returned as
// stored, expired or not: Hold.ActiveAt tells.
func (s *Store) Environments(ctx context.Context, only int) ([]*domain.Environment, error) {
	rs, err := s.db.Pool.Query(ctx, `SELECT `+environmentColumns+` FROM environments e
		WHERE @only = 0 OR e.id = @only ORDER BY e.id`, pgx.NamedArgs{"only": only})
	if err != nil {
		return nil, wrapDBError(err)
	}
	envs, err := pgx.CollectRows(rs, scanEnvironment)
	return envs, wrapDBError(err)
}

// EditEnvironment implements domain.EnvironmentStore.
func (s *Store) EditEnvironment(ctx context.Context, id int, relabel bool, fn func(tx domain.EnvironmentTx) error) error {
	return wrapDBError(pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if relabel {
			if err := lockLabels(ctx, tx, true); err != nil {
				return err
			}
		}
		if err := lockEnvironments(ctx, tx, []int{id}); err != nil {
			return err
		}
		return fn(&envTx{tx: tx, enq: s.enq, env: id})
	}))
}

// envTx is domain.EnvironmentTx on a transaction that holds an
// environment's lock.
type envTx struct {
	tx  pgx.Tx
	enq Enqueuer
	env int
}

var _ domain.EnvironmentTx = (*envTx)(nil)

// Environment implements domain.EnvironmentTx.
func (t *envTx) Environment(ctx context.Context) (*domain.Environment, error) {
	rs, err := t.tx.Query(ctx, `SELECT `+environmentColumns+` FROM environments e WHERE e.id = @id`, pgx.NamedArgs{"id": t.env})
	if err != nil {
		return nil, err
	}
	e, err := pgx.CollectExactlyOneRow(rs, scanEnvironment)
	if err == pgx.ErrNoRows { //nolint:errorlint // pgx returns ErrNoRows itself, never wrapped
		return nil, domain.Errorf(domain.ENOTFOUND, "Environment %d does not exist.", t.env)
	}
	return e, err
}

// SaveMeta implements domain.EnvironmentTx.
func (t *envTx) SaveMeta(ctx context.Context, m domain.EnvironmentMeta) error {
	labels := m.Labels
	if labels == nil {
		labels = []string{}
	}
	_, err := t.tx.Exec(ctx, `UPDATE environments SET description = @description, labels = @labels, url = @url,
		variables = @variables WHERE id = @id`, pgx.NamedArgs{
		"id": t.env, "description": m.Description, "labels": labels, "url": m.URL, "variables": encodeVariables(m.Variables),
	})
	return err
}

// SetHold implements domain.EnvironmentTx.
func (t *envTx) SetHold(ctx context.Context, r domain.HoldRequest) error {
	_, err := t.tx.Exec(ctx, `UPDATE environments SET hold_by = @held_by, hold_reason = @reason,
		hold_since = clock_timestamp(), hold_until = @until WHERE id = @id`, pgx.NamedArgs{
		"id": t.env, "held_by": r.HeldBy, "reason": r.Reason, "until": r.Until,
	})
	return err
}

// ClearHold implements domain.EnvironmentTx.
func (t *envTx) ClearHold(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `UPDATE environments SET hold_by = NULL, hold_reason = NULL, hold_since = NULL,
		hold_until = NULL WHERE id = @id`, pgx.NamedArgs{"id": t.env})
	return err
}

// Busy implements domain.EnvironmentTx.
func (t *envTx) Busy(ctx context.Context) (bool, error) {
	return exists(ctx, t.tx, t.env, busySQL)
}

// Held implements domain.EnvironmentTx.
func (t *envTx) Held(ctx context.Context) (bool, error) {
	return exists(ctx, t.tx, t.env, heldSQL)
}

// HasQueued implements domain.EnvironmentTx.
func (t *envTx) HasQueued(ctx context.Context) (bool, error) {
	return exists(ctx, t.tx, t.env, hasQueuedSQL)
}

// EnqueueStart implements domain.EnvironmentTx.
func (t *envTx) EnqueueStart(ctx context.Context, at *time.Time) error {
	return t.enq.EnqueueStartTx(ctx, t.tx, t.env, at)
}
