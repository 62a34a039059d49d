// Package environments manages the test environments as shared resources:
// what people say about them (description, URL, variables), the labels that
// group them into pools, holds that take one out of the scheduling, and the
// picture of what runs and waits in each (domain.ExplainQueue). It holds the
// rules and no SQL; its storage is a domain.EnvironmentStore (package
// postgres). The run service decides which run starts where; this service
// only changes what that decision reads (labels, holds) and, when a change
// may let a run start, enqueues the environment's start job in the same
// transaction.
package environments

import (
	"context"
	"slices"
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// Service is the environment service.
type Service struct {
	store domain.EnvironmentStore
	now   func() time.Time
}

var _ domain.EnvironmentService = (*Service)(nil)

// New returns the environment service on store. now is the clock holds are
// validated against (nil: time.Now); the scheduler itself goes by the
// database's clock.
func New(store domain.EnvironmentStore, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// ListEnvironments implements domain.EnvironmentService.
func (s *Service) ListEnvironments(ctx context.Context) (*domain.EnvironmentList, error) {
	envs, ex, err := s.read(ctx, 0)
	if err != nil {
		return nil, err
	}
	return &domain.EnvironmentList{Items: envs, Pools: ex.Pools, Slots: ex.Slots, WaitingForCapacity: ex.WaitingForCapacity}, nil
}

// FindEnvironment implements domain.EnvironmentService.
func (s *Service) FindEnvironment(ctx context.Context, id int) (*domain.Environment, error) {
	if why := domain.ValidateEnvironmentID(&id); why != "" {
		return nil, domain.Invalid("id", why)
	}
	envs, _, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return nil, domain.Errorf(domain.ENOTFOUND, "Environment %d does not exist.", id)
	}
	return envs[0], nil
}

// read returns the environments (all, or only one) with their state and
// queue, secrets blanked, and the explanation they come from.
func (s *Service) read(ctx context.Context, only int) ([]*domain.Environment, *domain.QueueExplanation, error) {
	envs, err := s.store.Environments(ctx, only)
	if err != nil {
		return nil, nil, err
	}
	snap, err := s.store.QueueSnapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	ex := domain.ExplainQueue(snap)
	for _, e := range envs {
		blankSecrets(e)
		e.State, e.Hold = domain.EnvIdle, nil
		if q := ex.Environments[e.ID]; q != nil {
			e.State, e.Hold, e.RunningRunID, e.QueuedRunIDs = q.State, q.Hold, q.RunningRunID, q.QueuedRunIDs
		}
	}
	return envs, ex, nil
}

// blankSecrets removes secret values from what leaves the service.
func blankSecrets(e *domain.Environment) {
	e.Variables = slices.Clone(e.Variables)
	for i := range e.Variables {
		if e.Variables[i].Secret {
			e.Variables[i].Value = ""
		}
	}
}

// UpdateEnvironment implements domain.EnvironmentService.
func (s *Service) UpdateEnvironment(ctx context.Context, id int, p domain.EnvironmentPatch) (*domain.Environment, error) {
	if why := domain.ValidateEnvironmentID(&id); why != "" {
		return nil, domain.Invalid("id", why)
	}
	if p.Empty() {
		_, err := p.Apply(domain.EnvironmentMeta{})
		return nil, err
	}
	err := s.store.EditEnvironment(ctx, id, p.Labels != nil, func(tx domain.EnvironmentTx) error {
		cur, err := tx.Environment(ctx)
		if err != nil {
			return err
		}
		next, err := p.Apply(cur.EnvironmentMeta)
		if err != nil {
			return err
		}
		if err := tx.SaveMeta(ctx, next); err != nil {
			return err
		}
		if slices.Equal(cur.Labels, next.Labels) {
			return nil
		}
		// A new label may make pooled runs able to start here.
		return startIfWaiting(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return s.FindEnvironment(ctx, id)
}

// HoldEnvironment implements domain.EnvironmentService.
func (s *Service) HoldEnvironment(ctx context.Context, id int, r domain.HoldRequest) (*domain.Environment, error) {
	if why := domain.ValidateEnvironmentID(&id); why != "" {
		return nil, domain.Invalid("id", why)
	}
	now := s.now()
	if err := r.Validate(now); err != nil {
		return nil, err
	}
	err := s.store.EditEnvironment(ctx, id, false, func(tx domain.EnvironmentTx) error {
		cur, err := tx.Environment(ctx)
		if err != nil {
			return err
		}
		if h := cur.Hold; h.ActiveAt(now) && h.HeldBy != r.HeldBy {
			return domain.Errorf(domain.ECONFLICT, "Environment %d is already held by %s (%s)%s; it must be released first.",
				id, h.HeldBy, h.Reason, untilText(h))
		}
		if err := tx.SetHold(ctx, r); err != nil {
			return err
		}
		if r.Until == nil {
			return nil
		}
		// Held until then: the start job that will find it free again is
		// already scheduled, so the hold ends on its own even if nothing
		// else happens in the environment. Should the hold be released or
		// changed first, the job finds nothing to do or a hold in force.
		return tx.EnqueueStart(ctx, r.Until)
	})
	if err != nil {
		return nil, err
	}
	return s.FindEnvironment(ctx, id)
}

func untilText(h *domain.Hold) string {
	if h.Until == nil {
		return " until released"
	}
	return " until " + h.Until.UTC().Format(time.RFC3339)
}

// ReleaseEnvironment implements domain.EnvironmentService. Releasing an
// environment that is not held changes nothing and is no error: the caller
// wanted it free, and it is.
func (s *Service) ReleaseEnvironment(ctx context.Context, id int) (*domain.Environment, error) {
	if why := domain.ValidateEnvironmentID(&id); why != "" {
		return nil, domain.Invalid("id", why)
	}
	err := s.store.EditEnvironment(ctx, id, false, func(tx domain.EnvironmentTx) error {
		if _, err := tx.Environment(ctx); err != nil {
			return err
		}
		if err := tx.ClearHold(ctx); err != nil {
			return err
		}
		return startIfWaiting(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return s.FindEnvironment(ctx, id)
}

// startIfWaiting enqueues the environment's start job when a run could
// start there now: nothing runs, no hold is in force, and a run can take it.
func startIfWaiting(ctx context.Context, tx domain.EnvironmentTx) error {
	for _, check := range []func(context.Context) (bool, error){tx.Busy, tx.Held} {
		no, err := check(ctx)
		if err != nil || no {
			return err
		}
	}
	waiting, err := tx.HasQueued(ctx)
	if err != nil || !waiting {
		return err
	}
	return tx.EnqueueStart(ctx, nil)
}
