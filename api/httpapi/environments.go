package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	baton "github.com/baton-ci/baton"
	"github.com/baton-ci/baton/api/domain"
)

func (s *Server) listEnvironments(c echo.Context) error {
	body, err := s.lists.get(c.Request().Context(), environmentsKey, func(ctx context.Context) (any, error) {
		list, err := s.svc.Environments.ListEnvironments(ctx)
		if err != nil {
			return nil, err
		}
		return toEnvironmentListJSON(list), nil
	})
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, body)
}

// environmentID parses the path parameter id of an environment; the
// service checks its range.
func environmentID(c echo.Context) (int, error) {
	id, err := strconv.Atoi(c.Param("id"))
	if err != nil || domain.ValidateEnvironmentID(&id) != "" {
		return 0, domain.Invalid("id", domain.RuleEnvironmentID)
	}
	return id, nil
}

func (s *Server) getEnvironment(c echo.Context) error {
	id, err := environmentID(c)
	if err != nil {
		return err
	}
	env, err := s.svc.Environments.FindEnvironment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEnvironmentJSON(env))
}

// patchEnvironment binds PATCH /api/environments/{id}: each member given
// replaces what is stored (null or "" clears description and url); in
// variables, each named variable is set, or removed by null.
func (s *Server) patchEnvironment(c echo.Context) error {
	id, err := environmentID(c)
	if err != nil {
		return err
	}
	obj, err := readJSONObject(c, s.opts.MaxJSONBytes, "description", "labels", "url", "variables")
	if err != nil {
		return err
	}
	fe := domain.FieldErrors{}
	var p domain.EnvironmentPatch
	p.Description = clearableString(obj, "description", fe)
	p.URL = clearableString(obj, "url", fe)
	if raw, ok := obj["labels"]; ok {
		labels := []string{}
		if string(raw) != "null" && json.Unmarshal(raw, &labels) != nil {
			fe.Add("labels", "must be an array of strings")
		}
		p.Labels = &labels
	}
	if raw, ok := obj["variables"]; ok {
		p.Variables = bindVariables(raw, fe)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	env, err := s.svc.Environments.UpdateEnvironment(c.Request().Context(), id, p)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusOK, toEnvironmentJSON(env))
}

// clearableString decodes an optional string member of a patch, null
// standing for "".
func clearableString(obj map[string]json.RawMessage, name string, fe domain.FieldErrors) *string {
	raw, ok := obj[name]
	if !ok {
		return nil
	}
	v := ""
	if string(raw) != "null" && json.Unmarshal(raw, &v) != nil {
		fe.Add(name, "must be a string (or null to clear it)")
	}
	return &v
}

// bindVariables decodes {"NAME": {"value": "...", "secret": true} | null}.
func bindVariables(raw json.RawMessage, fe domain.FieldErrors) map[string]*domain.VariableInput {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		fe.Add("variables", `must be an object of variables: {"NAME": {"value": "...", "secret": false}}, null removing one`)
		return nil
	}
	out := make(map[string]*domain.VariableInput, len(members))
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := members[name]
		if string(m) == "null" {
			out[name] = nil
			continue
		}
		field := "variables." + fieldName(name)
		var v struct {
			Value  *string `json:"value"`
			Secret *bool   `json:"secret"`
		}
		dec := json.NewDecoder(bytes.NewReader(m))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			fe.Add(field, `must be {"value": "...", "secret": true|false} (value may be left out to keep the stored one), or null`)
			continue
		}
		in := &domain.VariableInput{Value: v.Value}
		if v.Secret != nil {
			in.Secret = *v.Secret
		}
		out[name] = in
	}
	return out
}

// holdEnvironment binds POST /api/environments/{id}/hold.
func (s *Server) holdEnvironment(c echo.Context) error {
	id, err := environmentID(c)
	if err != nil {
		return err
	}
	obj, err := readJSONObject(c, s.opts.MaxJSONBytes, "held_by", "reason", "until")
	if err != nil {
		return err
	}
	fe := domain.FieldErrors{}
	var r domain.HoldRequest
	r.HeldBy, _ = jsonString(obj, "held_by", fe)
	r.Reason, _ = jsonString(obj, "reason", fe)
	if until, ok := jsonString(obj, "until", fe); ok {
		t, err := time.Parse(time.RFC3339Nano, until)
		if err != nil {
			fe.Add("until", domain.RuleUntil)
		} else {
			r.Until = &t
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	env, err := s.svc.Environments.HoldEnvironment(c.Request().Context(), id, r)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusOK, toEnvironmentJSON(env))
}

// releaseEnvironment binds DELETE /api/environments/{id}/hold.
func (s *Server) releaseEnvironment(c echo.Context) error {
	id, err := environmentID(c)
	if err != nil {
		return err
	}
	env, err := s.svc.Environments.ReleaseEnvironment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.lists.invalidate()
	return c.JSON(http.StatusOK, toEnvironmentJSON(env))
}

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", baton.OpenAPISpec)
}
