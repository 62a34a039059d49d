package catalog

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/project"
)

func TestNameLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	el := func(n int) string { return strings.Repeat("a", n) }
	// 8 + 2*(100+1) + 45 = 255 bytes.
	dir255 := "uploads/" + el(100) + "/" + el(100) + "/" + el(45)
	require.Len(t, dir255, 255)
	require.Empty(t, checkDirectory(dir255))
	require.NotEmpty(t, checkDirectory(dir255+"a"))
	require.Empty(t, checkDirectory("uploads/"+el(100)))
	require.NotEmpty(t, checkDirectory("uploads/"+el(101)))

	name100 := "test_" + el(92) + ".py"
	require.Len(t, name100, 100)
	require.Empty(t, checkFileName(name100, project.DefaultPythonFiles))
	require.NotEmpty(t, checkFileName("test_"+el(93)+".py", project.DefaultPythonFiles))
}

func TestFileNamesMatchPytestDefaults(t *testing.T) {
	t.Parallel()
	isTestFileName := func(name string) bool { return checkFileName(name, project.DefaultPythonFiles) == "" }
	for name, want := range map[string]bool{
		"test_a.py": true, "a_test.py": true, "test_.py": true, "_test.py": true, "test_a_test.py": true,
		"test.py": false, "tests.py": false, "atest.py": false, "test_a.pyc": false, "test_a.py.bak": false,
		"Test_a.py": false, "a_Test.py": false, "test_a.PY": false, "conftest.py": false, "test_a-b.py": false,
	} {
		require.Equal(t, want, isTestFileName(name), name)
	}
}
