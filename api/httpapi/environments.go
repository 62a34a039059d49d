package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	baton "github.com/baton-ci/baton"
	"github.com/baton-ci/baton/api/domain"
)

func (s *Server) listEnvironments(c echo.Context) error {
	body, err := s.lists.get(c.Request().Context(), environmentsKey, func(ctx context.Context) (any, error) {
		envs, err := s.svc.Environments.ListEnvironments(ctx)
		if err != nil {
			return nil, err
		}
		out := itemsJSON[environmentJSON]{Items: make([]environmentJSON, len(envs))}
		for i, e := range envs {
			out.Items[i] = toEnvironmentJSON(e)
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, body)
}

func (s *Server) getEnvironment(c echo.Context) error {
	id, err := strconv.Atoi(c.Param("id"))
	if err != nil || domain.ValidateEnvironmentID(&id) != "" {
		return domain.Invalid("id", domain.RuleEnvironmentID)
	}
	env, err := s.svc.Environments.FindEnvironment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEnvironmentJSON(env))
}

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", baton.OpenAPISpec)
}
