package httpapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// TestRunReasonsAreInTheSpec keeps openapi.yaml's RunReason enum in step
// with the Reason* constants of api/domain (read from the source, so a new
// reason anywhere in the package is seen), and every enum's
// x-enum-varnames in step with its values, so generated clients get a
// prefixed constant for each.
func TestRunReasonsAreInTheSpec(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../domain/*.go")
	require.NoError(t, err)
	var reasons []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					reasons = append(reasons, v)
				}
			}
			return true
		})
	}
	require.GreaterOrEqual(t, len(reasons), 11, "found too few Reason constants: did api/domain change shape?")

	enum := specDoc.Components.Schemas["RunReason"].Value.Enum
	for _, r := range reasons {
		require.Contains(t, enum, r, "domain reason %q is missing from openapi.yaml's RunReason enum", r)
	}
	require.Contains(t, enum, nil, "a nullable enum lists null (OpenAPI 3.0.3)")
	require.Len(t, enum, len(reasons)+1, "RunReason lists a value no Reason constant has")

	for name, ref := range specDoc.Components.Schemas {
		s := ref.Value
		if len(s.Enum) == 0 {
			continue
		}
		names, ok := s.Extensions["x-enum-varnames"].([]any)
		require.True(t, ok, "%s has no x-enum-varnames", name)
		require.Len(t, names, len(s.Enum), "%s: one x-enum-varname per value", name)
		for _, n := range names {
			require.True(t, strings.HasPrefix(n.(string), strings.TrimSuffix(name, "Type")), "%s: %q is not prefixed with the type's name", name, n)
		}
		require.False(t, slices.Contains(names, any("")), name)
	}

	// An enum written inline in an operation gets no named type, and so no
	// prefixed constants: every enum must be a component.
	var inline func(where string, ref *openapi3.SchemaRef)
	inline = func(where string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Ref != "" || ref.Value == nil {
			return
		}
		require.Empty(t, ref.Value.Enum, "%s: an inline enum; make it a component with x-enum-varnames", where)
		for name, p := range ref.Value.Properties {
			inline(where+"."+name, p)
		}
		inline(where+"[]", ref.Value.Items)
	}
	for path, item := range specDoc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			for _, p := range op.Parameters {
				inline(where+" "+p.Value.Name, p.Value.Schema)
			}
			if op.RequestBody != nil {
				for mt, c := range op.RequestBody.Value.Content {
					inline(where+" "+mt, c.Schema)
				}
			}
		}
	}
}
