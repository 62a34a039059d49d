package baton_test

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/baton-ci/baton"

// layers is ARCHITECTURE.md's table: for each package of Baton, the
// packages of this module it may import (test files aside), and whether it
// may import libraries outside the standard library at all. A package that
// is not listed fails the test: decide where it sits first.
var layers = map[string]struct {
	imports  []string
	external bool
}{
	"":                 {nil, false},
	"api/domain":       {nil, false},
	"api/project":      {nil, true},                     // reads pyproject.toml
	"api/config":       {[]string{"api/domain"}, false}, // the lease rule (domain.RunLease)
	"api/runs":         {[]string{"api/domain"}, false},
	"api/environments": {[]string{"api/domain"}, false},
	"api/postgres":     {[]string{"api/domain"}, true},
	"api/catalog":      {[]string{"api/domain", "api/project"}, true}, // x/sys for renameat2
	"api/runner":       {[]string{"api/domain", "api/project"}, true},
	"api/jobs":         {[]string{"api/domain", "api/runner"}, true},
	"api/httpapi":      {[]string{"", "api/domain"}, true},
	"api/insights":     {[]string{"api/domain"}, false},
	"api/metrics":      {[]string{"api/domain"}, true},
	"api/client":       {nil, true},
	"api/cli":          {[]string{"api/client"}, true},
	"api/webhooks":     {[]string{"api/domain"}, false},
	"api/cmd/baton":    {[]string{"*"}, true},
	// Test support and tests: anything.
	"api/internal/pgtest":     {[]string{"*"}, true},
	"api/internal/schedcheck": {nil, false},
	"api/systemtest":          {[]string{"*"}, true},
	"api/onboarding":          {[]string{"*"}, true},
	"internal/testkit":        {[]string{"api/client"}, true}, // the Run as api/client decodes it
}

// forbidden are libraries a layer must never reach for, whatever it imports:
// the storage, the queue and the web stay in their own packages.
var forbidden = map[string][]string{
	"api/httpapi":  {"gorm.io/", "github.com/jackc/pgx", "github.com/riverqueue/"},
	"api/jobs":     {"gorm.io/", "github.com/labstack/echo"},
	"api/postgres": {"github.com/labstack/echo", "github.com/riverqueue/"},
	"api/metrics":  {"gorm.io/", "github.com/jackc/pgx", "github.com/riverqueue/", "github.com/labstack/echo"},
	"api/runner":   {"gorm.io/", "github.com/jackc/pgx", "github.com/riverqueue/", "github.com/labstack/echo"},
}

// TestArchitecture checks the import rules of ARCHITECTURE.md.
func TestArchitecture(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, root := range []string{".", "api", "internal"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() || (path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules")) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if root == "." && path != "." {
				return filepath.SkipDir // only the module root itself
			}
			pkg, err := build.ImportDir(path, 0)
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				return nil
			}
			if err != nil {
				return err
			}
			rel := filepath.ToSlash(path)
			if rel == "." {
				rel = ""
			}
			seen[rel] = true
			rule, ok := layers[rel]
			if !ok {
				t.Errorf("package %q is not in ARCHITECTURE.md's layers (architecture_test.go): say what it may import", rel)
				return nil
			}
			for _, imp := range pkg.Imports {
				first, _, _ := strings.Cut(imp, "/")
				switch {
				case imp == module || strings.HasPrefix(imp, module+"/"):
					own := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
					if !slices.Contains(rule.imports, "*") && !slices.Contains(rule.imports, own) {
						t.Errorf("%s imports %s; it may import only %q", rel, own, rule.imports)
					}
				case strings.Contains(first, "."):
					if !rule.external {
						t.Errorf("%s imports the library %s; it may use the standard library only", rel, imp)
					}
					for _, f := range forbidden[rel] {
						if strings.HasPrefix(imp, f) {
							t.Errorf("%s imports %s, which belongs to another layer", rel, imp)
						}
					}
				}
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	var missing []string
	for p := range layers {
		if !seen[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("layers lists packages that do not exist: %v", missing)
	}
}
