package catalog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// fixture is a temporary tree with two writable roots (sample-tests,
// uploads), a read-only root (vendor) and a directory outside every root.
type fixture struct {
	base    string // holds all of the below; snapshots cover it entirely
	outside string
	cat     *Catalog
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	f := &fixture{base: base, outside: filepath.Join(base, "outside")}
	mkdir(t, f.outside)
	mkdir(t, filepath.Join(base, "vendor"))
	f.cat, err = New([]Root{
		{Dir: filepath.Join(base, "sample-tests"), Writable: true},
		{Dir: filepath.Join(base, "uploads"), Writable: true},
		{Dir: filepath.Join(base, "vendor")},
	}, opts)
	require.NoError(t, err)
	return f
}

// path returns the absolute path of a slash-separated path below base.
func (f *fixture) path(rel string) string { return filepath.Join(f.base, filepath.FromSlash(rel)) }

func mkdir(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
}

func mkfile(t *testing.T, file, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(file))
	require.NoError(t, os.WriteFile(file, []byte(content), 0o644))
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	mkdir(t, filepath.Dir(link))
	require.NoError(t, os.Symlink(target, link))
}

// requireDomainError asserts err is a *domain.Error with code and, when field
// is set, a reason for field containing want (else a message containing it).
func requireDomainError(t *testing.T, err error, code domain.ErrorCode, field, want string) {
	t.Helper()
	var de *domain.Error
	require.ErrorAs(t, err, &de, "want *domain.Error, got %T: %v", err, err)
	require.Equal(t, code, de.Code, "error: %v", err)
	if field == "" {
		require.Contains(t, de.Message, want)
		return
	}
	require.Contains(t, de.Fields, field, "error: %v", err)
	require.Contains(t, de.Fields[field], want)
	require.Contains(t, de.Message, want, "the message must say why, too")
}
