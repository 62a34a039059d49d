package httpapi

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"
)

const noUIPage = `<!doctype html><title>Baton</title>
<h1>Baton API</h1><p>The web UI is not built. Run <code>make run</code>, which builds it,
or see <a href="/api/openapi.yaml">the API description</a>.</p>`

// mountSPA serves the built single-page app: files as they are, and
// index.html for every other path so client-side routes like /runs/42
// survive a reload.
func (s *Server) mountSPA() {
	dir := s.opts.WebDir
	index := filepath.Join(dir, "index.html")
	s.echo.GET("/*", func(c echo.Context) error {
		if dir == "" {
			return c.HTML(http.StatusOK, noUIPage)
		}
		p := c.Param("*")
		if p != "" && !strings.Contains(p, "..") {
			full := filepath.Join(dir, filepath.FromSlash(p))
			if fi, err := os.Stat(full); err == nil && !fi.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					// Vite fingerprints assets, so they never change.
					c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				return c.File(full)
			}
		}
		if _, err := os.Stat(index); err != nil {
			return c.HTML(http.StatusOK, noUIPage)
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.File(index)
	})
}
