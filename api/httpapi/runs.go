package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/postgres"
)

func (s *Server) createRun(c echo.Context) error {
	obj, err := readJSONObject(c, s.opts.MaxJSONBytes, "requested_by", "environment_id", "test_files", "timeout_seconds")
	if err != nil {
		return err
	}
	fe := domain.FieldErrors{}
	in := domain.CreateRun{
		EnvironmentID:  jsonInt(obj, "environment_id", fe),
		TestFiles:      jsonStrings(obj, "test_files", fe),
		TimeoutSeconds: jsonInt(obj, "timeout_seconds", fe),
	}
	in.RequestedBy, _ = jsonString(obj, "requested_by", fe)
	in.Normalize()
	var verr *domain.Error
	if errors.As(in.Validate(), &verr) {
		for k, v := range verr.Fields {
			fe.Add(k, v)
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	run, err := s.runs.CreateRun(c.Request().Context(), in)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusCreated, toRunJSON(run))
}

func (s *Server) listRuns(c echo.Context) error {
	fe := domain.FieldErrors{}
	f := domain.RunFilter{Limit: domain.DefaultListLimit}
	q := c.QueryParams()
	if v := q.Get("status"); v != "" {
		if !domain.RunStatus(v).Valid() {
			fe.Add("status", "must be one of queued, running, success, failed, error, cancelled")
		}
		f.Status = domain.RunStatus(v)
	}
	if v := q.Get("environment_id"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < domain.MinEnvironmentID || n > domain.MaxEnvironmentID {
			fe.Add("environment_id", "must be an integer between 1 and 100")
		}
		f.EnvironmentID = n
	}
	// Names are stored trimmed (CreateRun.Normalize), so " alice" finds alice.
	if v := strings.TrimSpace(q.Get("requested_by")); v != "" {
		if len([]rune(v)) > domain.MaxRequestedByLen {
			fe.Add("requested_by", "must be at most 150 characters")
		}
		f.RequestedBy = v
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > domain.MaxListLimit {
			fe.Add("limit", "must be an integer between 1 and 200")
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		id, err := postgres.DecodeCursor(v)
		if err != nil {
			fe.Add("cursor", "is not a cursor returned by this API")
		}
		f.BeforeID = id
	}
	if err := fe.Err(); err != nil {
		return err
	}
	body, err := s.lists.get(c.Request().Context(), runsKey(f), func(ctx context.Context) (any, error) {
		runs, next, err := s.runs.ListRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		out := runListJSON{Items: make([]runJSON, len(runs))}
		for i, r := range runs {
			out.Items[i] = toRunJSON(r)
		}
		if next != "" {
			out.NextCursor = &next
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, body)
}

func (s *Server) getRun(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	run, err := s.runs.FindRun(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRunJSON(run))
}

func (s *Server) getRunLog(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var offset int64
	if v := c.QueryParam("offset"); v != "" {
		offset, err = strconv.ParseInt(v, 10, 64)
		if err != nil || offset < 0 {
			return invalid("offset", "must be a non-negative integer")
		}
	}
	page, err := s.runs.ReadLog(c.Request().Context(), id, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, logPageJSON{Offset: page.Offset, NextOffset: page.NextOffset, Text: page.Text, Complete: page.Complete})
}

func (s *Server) cancelRun(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	run, err := s.runs.CancelRun(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusOK, toRunJSON(run))
}

// rerun queues a new run with the same environment and files; the body is
// optional and may name who asks.
func (s *Server) rerun(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	fe := domain.FieldErrors{}
	var requestedBy string
	if c.Request().ContentLength != 0 && c.Request().Header.Get(echo.HeaderContentType) != "" {
		obj, err := readJSONObject(c, s.opts.MaxJSONBytes, "requested_by")
		if err != nil {
			return err
		}
		requestedBy, _ = jsonString(obj, "requested_by", fe)
		if err := fe.Err(); err != nil {
			return err
		}
	}
	orig, err := s.runs.FindRun(c.Request().Context(), id)
	if err != nil {
		return err
	}
	// A blank name, like an empty one, means "the original user".
	if strings.TrimSpace(requestedBy) == "" {
		requestedBy = orig.RequestedBy
	}
	env := orig.EnvironmentID
	run, err := s.runs.CreateRun(c.Request().Context(), domain.CreateRun{
		RequestedBy: requestedBy, EnvironmentID: &env, TestFiles: orig.TestFiles,
	})
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusCreated, toRunJSON(run))
}

func (s *Server) getRunTests(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	run, results, err := s.runs.ListTestResults(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := testResultsJSON{Items: make([]testResultJSON, len(results)), Summary: toSummaryJSON(run.Summary)}
	for i, r := range results {
		out.Items[i] = testResultJSON{NodeID: r.NodeID, Outcome: r.Outcome, DurationMS: r.DurationMS, Message: r.Message}
	}
	return c.JSON(http.StatusOK, out)
}
