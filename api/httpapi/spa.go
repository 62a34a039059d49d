package httpapi

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

const noUIPage = `<!doctype html><title>Baton</title>
<h1>Baton API</h1><p>The web UI is not built. Run <code>make run</code>, which builds it,
or see <a href="/api/openapi.yaml">the API description</a>.</p>`

// mountSPA serves the built single-page app with Echo's static middleware:
// files as they are and, in HTML5 mode, index.html for any other GET that
// no route took, so client-side routes like /runs/42 survive a reload.
// Echo resolves the file names (no "..", no escaped separators). API paths
// and other methods never fall back to the app: they get JSON errors.
func (s *Server) mountSPA() {
	s.echo.Use(noUIHint, cacheControl)
	if s.opts.WebDir != "" {
		s.echo.Use(middleware.StaticWithConfig(middleware.StaticConfig{
			Root:    s.opts.WebDir,
			HTML5:   true,
			Skipper: notForSPA,
		}))
	}
}

// notForSPA tells the requests the web UI must not answer.
func notForSPA(c echo.Context) bool {
	m := c.Request().Method
	return isAPI(c.Request().URL.Path) || (m != http.MethodGet && m != http.MethodHead)
}

func isAPI(path string) bool { return path == "/api" || strings.HasPrefix(path, "/api/") }

// noUIHint answers with a page that says how to build the UI when the web
// directory has no app (not built yet, or none configured).
func noUIHint(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		var he *echo.HTTPError
		notFound := errors.Is(err, fs.ErrNotExist) || (errors.As(err, &he) && he.Code == http.StatusNotFound)
		if notFound && !notForSPA(c) {
			return c.HTML(http.StatusOK, noUIPage)
		}
		return err
	}
}

// cacheControl lets browsers keep Vite's fingerprinted assets for good and
// makes them revalidate index.html, so a deploy is seen at the next load.
func cacheControl(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if notForSPA(c) {
			return next(c)
		}
		res := c.Response()
		res.Before(func() {
			html := strings.HasPrefix(res.Header().Get(echo.HeaderContentType), echo.MIMETextHTML)
			switch {
			case res.Status != http.StatusOK:
			case html:
				// The app itself, also when it stands in for a client-side route.
				res.Header().Set("Cache-Control", "no-cache")
			case strings.HasPrefix(c.Request().URL.Path, "/assets/"):
				res.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
		})
		return next(c)
	}
}
