package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
)

// statuses is the one place where error codes and HTTP statuses meet.
var statuses = map[domain.ErrorCode]int{
	domain.EINVALID:      http.StatusBadRequest,
	domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.ENOTFOUND:     http.StatusNotFound,
	domain.ECONFLICT:     http.StatusConflict,
	domain.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	domain.EUNAVAILABLE:  http.StatusServiceUnavailable,
	domain.EINTERNAL:     http.StatusInternalServerError,
}

// statusClientClosedRequest is nginx's status for a request whose client
// closed the connection before the answer; net/http has no name for it.
const statusClientClosedRequest = 499

// statusOf maps an error code to its HTTP status; unknown codes are faults.
func statusOf(code domain.ErrorCode) int {
	if status, ok := statuses[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// codeOf is the reverse mapping, for errors Echo itself raises (wrong
// method, body too large): other 4xx are invalid input, other 5xx faults.
func codeOf(status int) domain.ErrorCode {
	for code, s := range statuses {
		if s == status {
			return code
		}
	}
	if status >= 500 {
		return domain.EINTERNAL
	}
	return domain.EINVALID
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    domain.ErrorCode  `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// errorHandler renders every error as {"error": {...}}; internal errors are
// logged with their details and shown to the client only as a generic text.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client went away before its answer (a tab closed, a page
			// left mid-poll): no fault of the server's, and nobody reads a
			// body. 499 is what nginx records for it, so the request log
			// and the metrics do not count it among the 5xx, and no error
			// is logged.
			c.Response().WriteHeader(statusClientClosedRequest)
			return
		}
		body := errorBody{}
		status := http.StatusInternalServerError
		var he *echo.HTTPError
		var de *domain.Error
		switch {
		case errors.As(err, &de):
			status = statusOf(de.Code)
			body.Error = errorDetail{Code: de.Code, Message: de.Message, Fields: de.Fields}
		case errors.As(err, &he):
			status = he.Code
			req, method := c.Request(), clientMethod(c)
			msg := http.StatusText(status)
			switch s, ok := he.Message.(string); {
			case status == http.StatusNotFound && isAPI(req.URL.Path):
				msg = fmt.Sprintf("No API endpoint %s %s.", method, req.URL.Path)
			case status == http.StatusNotFound:
				msg = fmt.Sprintf("Nothing at %s %s.", method, req.URL.Path)
			case status == http.StatusMethodNotAllowed:
				// Echo's router has set Allow to the path's methods.
				allow := allowWithHead(c.Response().Header().Get(echo.HeaderAllow))
				c.Response().Header().Set(echo.HeaderAllow, allow)
				msg = fmt.Sprintf("%s is not allowed on %s; use %s.", method, req.URL.Path, allow)
			case ok && status < 500:
				msg = s
			}
			body.Error = errorDetail{Code: codeOf(status), Message: msg}
		default:
			body.Error = errorDetail{Code: domain.EINTERNAL, Message: domain.ErrorMessageOf(err)}
		}
		if status >= 500 && status != http.StatusServiceUnavailable {
			log.Error("request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
		// For HEAD, net/http sends the headers of this body and drops it.
		_ = c.JSON(status, body)
	}
}
