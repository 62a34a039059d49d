// Package baton is the root of the Baton module. It embeds the files that
// live at the top of the repository because Go's embed cannot reach upward
// from the packages under api/.
package baton

import _ "embed"

// OpenAPISpec is openapi.yaml, the exact contract of the REST API.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
