// Package domain holds Baton's types, their validation, the error codes
// every layer speaks and the contracts between the layers: the services the
// HTTP API and the workers call, and the storage the run service needs. It
// imports no web, database or queue library, so the rules it states are the
// same for the HTTP API, the workers and the tests.
package domain

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrorCode classifies an Error; the HTTP layer maps each code to one status.
type ErrorCode string

// The error codes a client can see.
const (
	// EINVALID means the input was malformed or broke a rule; nothing changed.
	EINVALID ErrorCode = "invalid"
	// ENOTFOUND means the addressed resource does not exist.
	ENOTFOUND ErrorCode = "not_found"
	// ECONFLICT means the request clashes with the current state.
	ECONFLICT ErrorCode = "conflict"
	// EUNAUTHORIZED means the request lacks the API token the server requires.
	EUNAUTHORIZED ErrorCode = "unauthorized"
	// ETOOLARGE means the request body or file exceeds a configured limit.
	ETOOLARGE ErrorCode = "too_large"
	// EUNAVAILABLE means a dependency (the database) cannot be reached right now.
	EUNAVAILABLE ErrorCode = "unavailable"
	// EINTERNAL means a server fault; its details are logged, never shown.
	EINTERNAL ErrorCode = "internal"
)

// Error is an application error with a code, a message fit for a client and,
// for validation errors, one explanation per offending field.
type Error struct {
	Code    ErrorCode
	Message string
	Fields  map[string]string
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message. It is
// the constructor of every error without per-field reasons; errors about
// fields are built with FieldErrors or Invalid, so they all read alike.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrUnavailable is what a caller sees when the database cannot be reached;
// the storage layer maps its driver's errors onto it.
var ErrUnavailable = &Error{Code: EUNAVAILABLE, Message: "The database is unavailable; try again shortly."}

// ErrorCodeOf returns the code of the first *Error in err's chain, or EINTERNAL
// for any other non-nil error, so unknown failures never leak as client errors.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessageOf returns the client-safe message of err: the *Error's message,
// or a generic text for internal errors whose details must stay in the logs.
func ErrorMessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// FieldErrors collects per-field validation problems and turns them into one
// EINVALID error, so a client sees every mistake in a request at once.
type FieldErrors map[string]string

// Add records why field is invalid; the first reason for a field wins.
func (f FieldErrors) Add(field, why string) {
	if _, ok := f[field]; !ok {
		f[field] = why
	}
}

// Err returns nil when no field was invalid, else an EINVALID *Error whose
// message spells out every reason ("environment_id must be between 1 and
// 100; test_files is required."), since a bare "invalid fields" helps nobody
// reading a log or a terminal.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + f[k]
	}
	return &Error{Code: EINVALID, Message: strings.Join(parts, "; ") + ".", Fields: map[string]string(f)}
}

// Invalid returns the EINVALID error for one field, e.g.
// Invalid("offset", "must be a non-negative integer").
func Invalid(field, why string) error { return FieldErrors{field: why}.Err() }

// TooLarge is the ETOOLARGE error of a value over its limit of limit bytes:
// field names the value, or is "" for a whole request body.
func TooLarge(field string, limit int64) error {
	if field == "" {
		return Errorf(ETOOLARGE, "The request body is larger than %d bytes.", limit)
	}
	why := fmt.Sprintf("must be at most %d bytes", limit)
	return &Error{Code: ETOOLARGE, Message: field + " " + why + ".", Fields: map[string]string{field: why}}
}
