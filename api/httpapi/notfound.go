package httpapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
)

// routeTable lists the API's path patterns with the methods each accepts.
type routeTable []routePattern

type routePattern struct {
	segments []string // ":id" matches any one non-empty segment
	methods  []string // sorted
}

// newRouteTable builds the table from Echo's routes under prefix.
func newRouteTable(routes []*echo.Route, prefix string) routeTable {
	byPath := map[string][]string{}
	for _, r := range routes {
		if !strings.HasPrefix(r.Path, prefix) || strings.Contains(r.Path, "*") || !isHTTPMethod(r.Method) {
			continue
		}
		byPath[r.Path] = append(byPath[r.Path], r.Method)
	}
	t := make(routeTable, 0, len(byPath))
	for p, methods := range byPath {
		sort.Strings(methods)
		t = append(t, routePattern{segments: strings.Split(p, "/"), methods: methods})
	}
	return t
}

func isHTTPMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// allowed returns the methods accepted on path, nil when no route has it.
func (t routeTable) allowed(path string) []string {
	segments := strings.Split(path, "/")
	for _, r := range t {
		if len(r.segments) != len(segments) {
			continue
		}
		match := true
		for i, s := range r.segments {
			if s != segments[i] && (!strings.HasPrefix(s, ":") || segments[i] == "") {
				match = false
				break
			}
		}
		if match {
			return r.methods
		}
	}
	return nil
}

// noEndpoint answers API requests no route took: 405 with an Allow header
// when the path exists under other methods, else a JSON 404 (never the web
// UI's index page).
func (s *Server) noEndpoint(c echo.Context) error {
	req := c.Request()
	if methods := s.routes.allowed(req.URL.Path); methods != nil {
		allow := strings.Join(methods, ", ")
		c.Response().Header().Set(echo.HeaderAllow, allow)
		return echo.NewHTTPError(http.StatusMethodNotAllowed, req.Method+" is not allowed on "+req.URL.Path+"; use "+allow+".")
	}
	return domain.Errorf(domain.ENOTFOUND, "No API endpoint %s %s.", req.Method, req.URL.Path)
}
