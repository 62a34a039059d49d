package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/client"
)

// TestGeneratedGoClient drives the server with the client oapi-codegen
// generates from openapi.yaml, as a third party would: the document itself
// downloads as bytes (not decoded into a map), typed calls decode, and
// errors land in their typed fields.
func TestGeneratedGoClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	c, err := client.NewClientWithResponses(h.ts.URL + "/")
	require.NoError(t, err)

	doc, err := c.GetOpenAPIWithResponse(ctx)
	require.NoError(t, err, "the generated client must not choke on the YAML document")
	want, err := os.ReadFile(specPath)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, doc.StatusCode())
	require.Equal(t, string(want), string(doc.Body))

	files := []string{"sample-tests/test_success.py"}
	seven, tooBig := 7, 101
	created, err := c.CreateRunWithResponse(ctx, client.CreateRunRequest{RequestedBy: "alice", EnvironmentId: &seven, TestFiles: &files})
	require.NoError(t, err)
	require.NotNil(t, created.JSON201, "%s", created.Body)
	require.Equal(t, client.RunStatusQueued, created.JSON201.Status)
	require.Nil(t, created.JSON201.Reason)

	got, err := c.GetRunWithResponse(ctx, created.JSON201.Id)
	require.NoError(t, err)
	require.NotNil(t, got.JSON200)
	require.Equal(t, created.JSON201.Id, got.JSON200.Id)

	limit := 5
	list, err := c.ListRunsWithResponse(ctx, &client.ListRunsParams{Limit: &limit})
	require.NoError(t, err)
	require.NotNil(t, list.JSON200)
	require.Len(t, list.JSON200.Items, 1)

	missing, err := c.GetRunWithResponse(ctx, 999999)
	require.NoError(t, err)
	require.NotNil(t, missing.JSON404, "%s", missing.Body)
	require.Equal(t, client.ErrorCodeNotFound, missing.JSON404.Error.Code)

	bad, err := c.CreateRunWithResponse(ctx, client.CreateRunRequest{RequestedBy: "alice", EnvironmentId: &tooBig, TestFiles: &files})
	require.NoError(t, err)
	require.NotNil(t, bad.JSON400, "%s", bad.Body)
	require.Contains(t, *bad.JSON400.Error.Fields, "environment_id")

	// Pools, holds and what a queued run waits for, typed.
	labels := []string{"gpu"}
	patched, err := c.UpdateEnvironmentWithResponse(ctx, 4, client.UpdateEnvironmentJSONRequestBody{Labels: &labels})
	require.NoError(t, err)
	require.NotNil(t, patched.JSON200, "%s", patched.Body)
	require.Equal(t, labels, patched.JSON200.Labels)
	held, err := c.HoldEnvironmentWithResponse(ctx, 4, client.HoldEnvironmentJSONRequestBody{HeldBy: "carol", Reason: "debugging"})
	require.NoError(t, err)
	require.NotNil(t, held.JSON200, "%s", held.Body)
	require.Equal(t, client.EnvironmentStateHeld, held.JSON200.State)
	gpu := "gpu"
	pooled, err := c.CreateRunWithResponse(ctx, client.CreateRunRequest{RequestedBy: "bob", Pool: &gpu, TestFiles: &files})
	require.NoError(t, err)
	require.NotNil(t, pooled.JSON201, "%s", pooled.Body)
	require.Nil(t, pooled.JSON201.EnvironmentId)
	require.Equal(t, client.WaitKindHold, pooled.JSON201.WaitingFor.Kind)
	released, err := c.ReleaseEnvironmentWithResponse(ctx, 4)
	require.NoError(t, err)
	require.NotNil(t, released.JSON200, "%s", released.Body)
	require.Nil(t, released.JSON200.Hold)
	envs, err := c.ListEnvironmentsWithResponse(ctx)
	require.NoError(t, err)
	require.NotNil(t, envs.JSON200)
	require.Len(t, envs.JSON200.Items, 100)
}
