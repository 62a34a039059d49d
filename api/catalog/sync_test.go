package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/catalog"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/internal/testkit"
)

// TestSyncerMirrorsDiskWithinTwoSeconds: files added or removed by hand show
// up in the stored catalog without a restart.
func TestSyncerMirrorsDiskWithinTwoSeconds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := pgtest.NewStack(t, pgtest.NewDB(t), time.Minute).Store

	dir := filepath.Join(t.TempDir(), "sample-tests")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test_one.py"), []byte("def test_a(): pass\n"), 0o644))
	cat, err := catalog.New([]catalog.Root{{Dir: dir, Writable: true}}, catalog.Options{})
	require.NoError(t, err)
	syncer := catalog.NewSyncer(cat, store, nil)
	require.NoError(t, syncer.Sync(ctx))
	go syncer.Run(ctx, time.Second)

	paths := func() []string {
		files, err := store.ListTestFiles(ctx)
		require.NoError(t, err)
		out := []string{}
		for _, f := range files {
			out = append(out, f.Path)
		}
		return out
	}
	require.Equal(t, []string{"sample-tests/test_one.py"}, paths())

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "nested"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nested", "two_test.py"), []byte("def test_b(): pass\n"), 0o644))
	testkit.Eventually(t, 2*time.Second, "an added file must be listed within 2 s", func() bool {
		p := paths()
		return len(p) == 2 && p[0] == "sample-tests/nested/two_test.py"
	})

	require.NoError(t, os.Remove(filepath.Join(dir, "test_one.py")))
	testkit.Eventually(t, 2*time.Second, "a removed file must disappear within 2 s", func() bool {
		p := paths()
		return len(p) == 1 && p[0] == "sample-tests/nested/two_test.py"
	})

	dirs, err := store.ListTestDirectories(ctx)
	require.NoError(t, err)
	require.Len(t, dirs, 2)
	require.Equal(t, "sample-tests", dirs[0].Path)
	require.Equal(t, 0, dirs[0].FileCount)
	require.Equal(t, "sample-tests/nested", dirs[1].Path)
	require.Equal(t, 1, dirs[1].FileCount)
}
