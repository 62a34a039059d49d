package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// headKey marks, in a request's context, a HEAD request served as a GET.
type headKey struct{}

// headAsGet serves HEAD wherever GET is served (RFC 9110 §9.3.2): next
// routes the request as a GET while net/http, which still holds the
// client's HEAD request, sends the status and headers (Content-Length
// included) and drops the body. Echo has no such option, its Pre
// middleware cannot change the method it routes by without changing the
// server's own request, and a HEAD route beside every GET would double the
// routes the spec test matches one to one.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		get := r.WithContext(context.WithValue(r.Context(), headKey{}, true))
		get.Method = http.MethodGet
		next.ServeHTTP(w, get)
	})
}

// clientMethod is the method the client sent, HEAD included.
func clientMethod(c echo.Context) string {
	if head, _ := c.Request().Context().Value(headKey{}).(bool); head {
		return http.MethodHead
	}
	return c.Request().Method
}

// allowWithHead adds HEAD after GET to an Allow header Echo's router built
// from the routes, which have no HEAD of their own (see headAsGet).
func allowWithHead(allow string) string {
	methods := strings.Split(allow, ", ")
	get := slices.Index(methods, http.MethodGet)
	if get < 0 || slices.Contains(methods, http.MethodHead) {
		return allow
	}
	return strings.Join(slices.Insert(methods, get+1, http.MethodHead), ", ")
}
