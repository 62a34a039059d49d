package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Task is periodic housekeeping the cluster does, one worker at a time: the
// leader of the River clients inserts its job every Interval and any worker
// may work it. Retention and statistics refreshes are tasks.
type Task struct {
	// Name identifies the task in its job's args and in logs.
	Name string
	// Interval is how often it runs; it also runs when a leader starts.
	Interval time.Duration
	// Budget bounds one run; a task that is not done by then stops
	// cleanly (its ctx ends) and goes on at its next run. Default 45s.
	Budget time.Duration
	// Run does the work. It returns ctx.Err() when stopped by its budget.
	Run func(ctx context.Context) error
}

// HousekeepingArgs asks a worker to run one Task.
type HousekeepingArgs struct {
	Task string `json:"task"`
}

// Kind implements river.JobArgs.
func (HousekeepingArgs) Kind() string { return "baton_housekeeping" }

// InsertOpts puts housekeeping on the maintenance queue, once per task
// while one is waiting or running.
func (HousekeepingArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
	}}
}

// housekeepingWorker is the River worker of HousekeepingArgs.
type housekeepingWorker struct {
	river.WorkerDefaults[HousekeepingArgs]
	tasks map[string]Task
}

// Timeout leaves the task's own budget in charge, with a margin.
func (h *housekeepingWorker) Timeout(job *river.Job[HousekeepingArgs]) time.Duration {
	return h.tasks[job.Args.Task].Budget + time.Minute
}

// Work runs the task within its budget.
func (h *housekeepingWorker) Work(ctx context.Context, job *river.Job[HousekeepingArgs]) error {
	t, ok := h.tasks[job.Args.Task]
	if !ok {
		// A task another version of Baton knows: nothing to do here.
		return river.JobCancel(fmt.Errorf("unknown housekeeping task %q", job.Args.Task))
	}
	budget, cancel := context.WithTimeout(ctx, t.Budget)
	defer cancel()
	err := t.Run(budget)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil // out of budget: the next run goes on
	}
	return err
}

func housekeepingJobs(tasks []Task) []*river.PeriodicJob {
	var out []*river.PeriodicJob
	for _, t := range tasks {
		name := t.Name
		out = append(out, river.NewPeriodicJob(river.PeriodicInterval(t.Interval),
			func() (river.JobArgs, *river.InsertOpts) { return HousekeepingArgs{Task: name}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	return out
}
