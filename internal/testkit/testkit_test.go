package testkit_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	c := testkit.NewClock(start)
	time.Sleep(time.Millisecond)
	require.Equal(t, start, c.Now())
	c.Advance(time.Second)
	require.Equal(t, start.Add(time.Second), c.Now())
}

func TestTreeSeesEveryChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644))
	before := testkit.Tree(t, dir)
	for name, change := range map[string]func(dir string) error{
		"content": func(d string) error { return os.WriteFile(filepath.Join(d, "a"), []byte("y"), 0o644) },
		"mode":    func(d string) error { return os.Chmod(filepath.Join(d, "a"), 0o600) },
		"hidden":  func(d string) error { return os.WriteFile(filepath.Join(d, ".h"), nil, 0o644) },
		"symlink": func(d string) error { return os.Symlink("a", filepath.Join(d, "l")) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			copyDir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(copyDir, "a"), []byte("x"), 0o644))
			require.Equal(t, before, testkit.Tree(t, copyDir))
			require.NoError(t, change(copyDir))
			require.NotEqual(t, before, testkit.Tree(t, copyDir))
		})
	}
}

func TestModuleRootIsWhereGoModIs(t *testing.T) {
	t.Parallel()
	root, err := testkit.ModuleRoot()
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, filepath.Dir(filepath.Dir(wd)), root, "internal/testkit is two levels below the root")
	require.FileExists(t, filepath.Join(root, "go.mod"))
}
