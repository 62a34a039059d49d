// Package client is Baton's Go client, generated from openapi.yaml by the
// oapi-codegen that go.mod pins (its tool directive); the CLI is built on
// it. client.gen.go is committed: regenerate it with `go generate
// ./api/client` after changing openapi.yaml (a test fails while it is stale).
package client

//go:generate go tool oapi-codegen -config oapi-codegen.yaml -o client.gen.go ../../openapi.yaml
