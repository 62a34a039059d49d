package httpapi

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// observeRequests reports every request to fn with its route pattern, so
// /api/runs/1 and /api/runs/2 are one series.
func observeRequests(fn func(method, route string, status int, d time.Duration)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				// Rendered here, as the request logger does, so the status
				// is the one the client gets.
				c.Error(err)
			}
			route := c.Path()
			switch {
			case route != "" && route != "/*":
			case strings.HasPrefix(c.Request().URL.Path, "/api/"):
				route = "unmatched"
			default:
				route = "web"
			}
			fn(c.Request().Method, route, c.Response().Status, time.Since(start))
			return nil
		}
	}
}

// maxRequestIDLen bounds a client's X-Request-Id.
const maxRequestIDLen = 128

// cleanRequestID drops a client's X-Request-Id that is too long or holds
// anything but letters, digits and ".-_:", so Echo's RequestID middleware
// makes a fresh one instead of copying junk into every log line.
func cleanRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !validRequestID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

func validRequestID(id string) bool {
	if len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		if !strings.ContainsRune(".-_:", r) && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
