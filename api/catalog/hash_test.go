package catalog_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/catalog"
)

func TestContentHash(t *testing.T) {
	t.Parallel()
	write := func(p, s string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	// Two hosts with the same checkout at different places.
	a, b := filepath.Join(t.TempDir(), "qa"), filepath.Join(t.TempDir(), "elsewhere", "qa")
	for _, root := range []string{a, b} {
		write(filepath.Join(root, "pkg", "tests", "test_x.py"), "def test_x(): pass\n")
		write(filepath.Join(root, "pkg", "conftest.py"), "import pytest\n")
	}
	catalogs := map[string]*catalog.Catalog{}
	for _, root := range []string{a, b} {
		c, err := catalog.New([]catalog.Root{{Dir: root}}, catalog.Options{})
		require.NoError(t, err)
		catalogs[root] = c
	}
	const file = "qa/pkg/tests/test_x.py"
	hash := func(root string) int64 {
		h, err := catalogs[root].ContentHash(file)
		require.NoError(t, err)
		return h
	}
	fa := filepath.Join(a, "pkg", "tests", "test_x.py")
	base := hash(a)
	require.Equal(t, base, hash(b), "the same content at another place on another host hashes alike")

	write(filepath.Join(filepath.Dir(a), "conftest.py"), "# above the root: pytest never loads it for Baton\n")
	t.Cleanup(func() { _ = os.Remove(filepath.Join(filepath.Dir(a), "conftest.py")) })
	require.Equal(t, base, hash(a))

	write(filepath.Join(a, "pkg", "conftest.py"), "import pytest  # changed fixture\n")
	require.NotEqual(t, base, hash(a), "a conftest.py pytest loads for the test is part of its content")
	write(filepath.Join(a, "pkg", "conftest.py"), "import pytest\n")
	require.Equal(t, base, hash(a))

	write(filepath.Join(a, "pkg", "tests", "conftest.py"), "")
	require.NotEqual(t, base, hash(a), "even an empty new conftest.py")
	require.NoError(t, os.Remove(filepath.Join(a, "pkg", "tests", "conftest.py")))

	write(fa, "def test_x(): assert True\n")
	require.NotEqual(t, base, hash(a), "a changed test file is new content")

	_, err := catalogs[a].ContentHash("qa/pkg/tests/test_missing.py")
	require.Error(t, err)
}
