package httpapi

import (
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// getRunJUnit serves pytest's JUnit XML report of an ended run as a file,
// for CI systems' test reports.
func (s *Server) getRunJUnit(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	report, err := s.svc.Runs.JUnitReport(c.Request().Context(), id)
	if err != nil {
		return err
	}
	attachment(c, fmt.Sprintf("baton-run-%d-junit.xml", id))
	return c.Blob(http.StatusOK, "application/xml", report)
}

// getRunLogText serves a run's whole log, as far as it is written, as one
// text file. It is read page by page and streamed, so a large log is never
// held whole.
func (s *Server) getRunLogText(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, err := s.svc.Runs.ReadLog(ctx, id, 0)
	if err != nil {
		return err // before anything is sent: a proper error response
	}
	attachment(c, fmt.Sprintf("baton-run-%d.log", id))
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/plain; charset=utf-8")
	res.WriteHeader(http.StatusOK)
	for {
		if _, err := io.WriteString(res, page.Text); err != nil {
			return nil // the client left
		}
		if page.Complete || page.Text == "" {
			return nil
		}
		if page, err = s.svc.Runs.ReadLog(ctx, id, page.NextOffset); err != nil {
			// The status is sent: all that can be done is to stop short,
			// which the client sees as a truncated body.
			s.log.Error("log download cut short", "run", id, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// attachment makes the response a download named name.
func attachment(c echo.Context, name string) {
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", name))
}
