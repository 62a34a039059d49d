package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
)

// createRun binds POST /api/runs; the run service validates.
func (s *Server) createRun(c echo.Context) error {
	obj, err := readJSONObject(c, s.opts.MaxJSONBytes, "requested_by", "environment_id", "pool", "test_files", "tests", "keyword", "markers", "timeout_seconds")
	if err != nil {
		return err
	}
	fe := domain.FieldErrors{}
	in := domain.CreateRun{
		EnvironmentID:  jsonInt(obj, "environment_id", fe),
		TestFiles:      jsonStrings(obj, "test_files", fe),
		Tests:          jsonStrings(obj, "tests", fe),
		TimeoutSeconds: jsonInt(obj, "timeout_seconds", fe),
	}
	in.RequestedBy, _ = jsonString(obj, "requested_by", fe)
	if pool, ok := jsonString(obj, "pool", fe); ok {
		in.Pool = &pool
	}
	in.Keyword, _ = jsonString(obj, "keyword", fe)
	in.Markers, _ = jsonString(obj, "markers", fe)
	// A member of the wrong type is left out of in, so the service must not
	// see in: it would apply a default where the client meant something.
	if err := fe.Err(); err != nil {
		return err
	}
	run, err := s.svc.Runs.Create(c.Request().Context(), in)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusCreated, toRunJSON(run))
}

// listRuns binds GET /api/runs; the run service parses and checks the query.
func (s *Server) listRuns(c echo.Context) error {
	params := c.QueryParams()
	q := domain.RunQuery{
		// status may repeat (status=failed&status=error); joined, the query stays a comparable cache key.
		Status:        strings.Join(params["status"], ","),
		EnvironmentID: params.Get("environment_id"),
		Pool:          params.Get("pool"),
		RequestedBy:   params.Get("requested_by"),
		CreatedAfter:  params.Get("created_after"),
		CreatedBefore: params.Get("created_before"),
		TestFile:      params.Get("test_file"),
		RerunOf:       params.Get("rerun_of"),
		Cursor:        params.Get("cursor"),
		Limit:         params.Get("limit"),
	}
	body, err := s.lists.get(c.Request().Context(), runsKey(q), func(ctx context.Context) (any, error) {
		page, err := s.svc.Runs.List(ctx, q)
		if err != nil {
			return nil, err
		}
		out := runListJSON{Items: make([]runJSON, len(page.Runs)), Total: page.Total}
		for i, r := range page.Runs {
			out.Items[i] = toRunJSON(r)
		}
		if page.NextCursor != "" {
			out.NextCursor = &page.NextCursor
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
	run, err := s.svc.Runs.Find(c.Request().Context(), id)
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
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil {
			return domain.Invalid("offset", "must be a non-negative integer")
		}
	}
	page, err := s.svc.Runs.ReadLog(c.Request().Context(), id, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, logPageJSON{Offset: page.Offset, NextOffset: page.NextOffset, Text: page.Text, Complete: page.Complete})
}

// cancelRun binds POST /api/runs/{id}/cancel; the body is optional and may
// name who cancels (without one, as older clients send, no one is named).
func (s *Server) cancelRun(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	by, err := s.optionalName(c, "cancelled_by")
	if err != nil {
		return err
	}
	run, err := s.svc.Runs.Cancel(c.Request().Context(), id, by)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusOK, toRunJSON(run))
}

// rerun binds POST /api/runs/{id}/rerun; the body is optional and may name
// who asks.
func (s *Server) rerun(c echo.Context) error { return s.rerunWith(c, s.svc.Runs.Rerun) }

// rerunFailed binds POST /api/runs/{id}/rerun-failed, with rerun's body.
func (s *Server) rerunFailed(c echo.Context) error { return s.rerunWith(c, s.svc.Runs.RerunFailed) }

func (s *Server) rerunWith(c echo.Context, again func(ctx context.Context, id int64, requestedBy string) (*domain.Run, error)) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	requestedBy, err := s.optionalName(c, "requested_by")
	if err != nil {
		return err
	}
	run, err := again(c.Request().Context(), id, requestedBy)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusCreated, toRunJSON(run))
}

// optionalName reads an optional body {"<field>": "name"}: no body (or one
// without a content type) is no name, anything else must be that object.
func (s *Server) optionalName(c echo.Context, field string) (string, error) {
	if c.Request().ContentLength == 0 || c.Request().Header.Get(echo.HeaderContentType) == "" {
		return "", nil
	}
	obj, err := readJSONObject(c, s.opts.MaxJSONBytes, field)
	if err != nil {
		return "", err
	}
	fe := domain.FieldErrors{}
	name, _ := jsonString(obj, field, fe)
	return name, fe.Err()
}

func (s *Server) getRunTests(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	run, results, err := s.svc.Runs.TestResults(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := testResultsJSON{Items: make([]testResultJSON, len(results)), Summary: toSummaryJSON(run.Summary)}
	for i, r := range results {
		out.Items[i] = testResultJSON{NodeID: r.NodeID, Outcome: r.Outcome, DurationMS: r.DurationMS, Message: r.Message, Flaky: r.Flaky}
	}
	return c.JSON(http.StatusOK, out)
}
