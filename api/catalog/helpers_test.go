package catalog

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// python returns a Python 3 interpreter for syntax checks, skipping the test
// when none is installed.
func python(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 available for syntax checks")
	}
	return p
}

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

// snapshot records every entry below dir, hidden ones included, with its
// type, permissions and content or link target, without following symlinks.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			snap[rel] = "symlink -> " + target
		case d.IsDir():
			snap[rel] = "dir " + fi.Mode().String()
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			snap[rel] = "file " + fi.Mode().String() + " " + string(b)
		default:
			snap[rel] = "other " + fi.Mode().String()
		}
		return nil
	})
	require.NoError(t, err)
	return snap
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
