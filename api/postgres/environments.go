package postgres

import (
	"context"

	"github.com/baton-ci/baton/api/domain"
)

// ListEnvironments returns all environments, by id, with their running run
// and their queue in start order.
func (s *Store) ListEnvironments(ctx context.Context) ([]*domain.Environment, error) {
	return s.environments(ctx, 0)
}

// FindEnvironment returns one environment, or ENOTFOUND.
func (s *Store) FindEnvironment(ctx context.Context, id int) (*domain.Environment, error) {
	envs, err := s.environments(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return nil, domain.Errorf(domain.ENOTFOUND, "Environment %d does not exist.", id)
	}
	return envs[0], nil
}

func (s *Store) environments(ctx context.Context, only int) ([]*domain.Environment, error) {
	db := s.db.Gorm.WithContext(ctx)
	var envRows []struct {
		ID   int
		Name string
	}
	q := db.Table("environments").Order("id")
	if only != 0 {
		q = q.Where("id = ?", only)
	}
	if err := q.Find(&envRows).Error; err != nil {
		return nil, wrapDBError(err)
	}
	var live []struct {
		ID            int64
		EnvironmentID int
		Status        string
	}
	lq := db.Table("runs").Select("id, environment_id, status").Where("status IN ('queued', 'running')").Order("id")
	if only != 0 {
		lq = lq.Where("environment_id = ?", only)
	}
	if err := lq.Find(&live).Error; err != nil {
		return nil, wrapDBError(err)
	}
	byID := make(map[int]*domain.Environment, len(envRows))
	out := make([]*domain.Environment, len(envRows))
	for i, r := range envRows {
		out[i] = &domain.Environment{ID: r.ID, Name: r.Name, State: domain.EnvIdle, QueuedRunIDs: []int64{}}
		byID[r.ID] = out[i]
	}
	for _, r := range live {
		e := byID[r.EnvironmentID]
		if e == nil {
			continue
		}
		if r.Status == string(domain.StatusRunning) {
			id := r.ID
			e.RunningRunID, e.State = &id, domain.EnvBusy
		} else {
			e.QueuedRunIDs = append(e.QueuedRunIDs, r.ID)
		}
	}
	return out, nil
}
