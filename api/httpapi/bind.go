package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
)

// readJSONObject reads a JSON object body into its raw members, refusing
// other content types, malformed JSON, bodies over limit and unknown
// members (a typo such as "enviroment_id" must not be silently ignored).
func readJSONObject(c echo.Context, limit int64, known ...string) (map[string]json.RawMessage, error) {
	req := c.Request()
	if mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return nil, domain.Errorf(domain.EINVALID, "The body must be JSON (Content-Type: application/json).")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, domain.TooLarge("", limit)
		}
		return nil, domain.Errorf(domain.EINVALID, "The body could not be read.")
	}
	if err := checkJSONText(body); err != nil {
		return nil, err
	}
	// Unmarshal, unlike a Decoder checked with More, also refuses trailing
	// text such as the second "}" of `{...}}`.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, domain.Errorf(domain.EINVALID, "The body must be one JSON object.")
	}
	var unknown []string
	for k := range obj {
		if !contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		fe := domain.FieldErrors{}
		for _, k := range unknown {
			fe.Add(k, "is not a known field")
		}
		return nil, fe.Err()
	}
	return obj, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// jsonString decodes an optional string member, recording a field error.
func jsonString(obj map[string]json.RawMessage, name string, fe domain.FieldErrors) (string, bool) {
	raw, ok := obj[name]
	if !ok || string(raw) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		fe.Add(name, "must be a string")
		return "", false
	}
	return s, true
}

// jsonInt decodes an optional integer member; 7.0, "7" and 7.5 are refused.
func jsonInt(obj map[string]json.RawMessage, name string, fe domain.FieldErrors) *int {
	raw, ok := obj[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil {
		if _, ferr := strconv.ParseFloat(string(raw), 64); ferr == nil && !strings.ContainsAny(string(raw), ".eE") {
			fe.Add(name, "is out of range")
		} else {
			fe.Add(name, "must be an integer")
		}
		return nil
	}
	return &n
}

// jsonStrings decodes an optional array of strings.
func jsonStrings(obj map[string]json.RawMessage, name string, fe domain.FieldErrors) []string {
	raw, ok := obj[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		fe.Add(name, "must be an array of strings")
		return nil
	}
	return out
}

// pathID parses the integer path parameter id; the service checks its range.
func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, domain.Invalid("id", domain.RuleRunID)
	}
	return id, nil
}
