package project

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layout writes files (path -> content) below a fresh directory and returns it.
func layout(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	return dir
}

var findPython = sync.OnceValue(func() string {
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(c); err == nil && exec.Command(p, "-c", "import pytest").Run() == nil {
			return p
		}
	}
	return ""
})

var rootdirRe = regexp.MustCompile(`(?m)^rootdir: ([^,\n]+)(?:, configfile: ([^,\n]+))?`)

// pytestRootdir asks real pytest, started in catalogRoot with file as its
// argument, which rootdir and config file it uses.
func pytestRootdir(t *testing.T, catalogRoot, file string) (string, string) {
	t.Helper()
	py := findPython()
	if py == "" {
		t.Skip("no python3 with pytest on this machine")
	}
	cmd := exec.Command(py, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider", file)
	cmd.Dir = catalogRoot
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, _ := cmd.CombinedOutput()
	m := rootdirRe.FindStringSubmatch(string(out))
	require.NotNil(t, m, "pytest printed no rootdir:\n%s", out)
	cfg := ""
	if m[2] != "" {
		cfg = filepath.Join(m[1], m[2])
	}
	return m[1], cfg
}

const pyTest = "def test_ok():\n    pass\n"

// TestFindAgreesWithPytest checks, layout by layout, that Find picks the
// rootdir and config file real pytest picks.
func TestFindAgreesWithPytest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		files   map[string]string
		test    string // the test file, relative to the catalog root
		wantDir string // expected project root, relative ("." = catalog root)
		wantBy  string
		wantCfg string // config file name in wantDir, "" for none
	}{
		{"pytest.ini", map[string]string{"shop/pytest.ini": "[pytest]\naddopts = -ra\n", "shop/tests/test_a.py": pyTest},
			"shop/tests/test_a.py", "shop", ByConfig, "pytest.ini"},
		{"empty pytest.ini counts", map[string]string{"shop/pytest.ini": "", "shop/t/test_a.py": pyTest},
			"shop/t/test_a.py", "shop", ByConfig, "pytest.ini"},
		{"nearest wins", map[string]string{"shop/pytest.ini": "[pytest]\n", "shop/sub/tox.ini": "[pytest]\nminversion = 3\n",
			"shop/sub/tests/test_a.py": pyTest}, "shop/sub/tests/test_a.py", "shop/sub", ByConfig, "tox.ini"},
		{"tox.ini without [pytest] is skipped", map[string]string{"shop/pytest.ini": "[pytest]\n", "shop/sub/tox.ini": "[tox]\nenvlist = py3\n",
			"shop/sub/test_a.py": pyTest}, "shop/sub/test_a.py", "shop", ByConfig, "pytest.ini"},
		{"pyproject without table: the project's root", map[string]string{"p/pyproject.toml": "[project]\nname = \"x\"\n", "p/tests/test_a.py": pyTest},
			"p/tests/test_a.py", "p", ByPyproject, ""},
		{"config above beats pyproject without table", map[string]string{"repo/tox.ini": "[pytest]\n", "repo/lib/pyproject.toml": "[project]\n",
			"repo/lib/tests/test_a.py": pyTest}, "repo/lib/tests/test_a.py", "repo", ByConfig, "tox.ini"},
		{"pyproject with table beats a nearer one without", map[string]string{"repo/pyproject.toml": "[tool.pytest.ini_options]\n",
			"repo/lib/pyproject.toml": "[project]\n", "repo/lib/test_a.py": pyTest}, "repo/lib/test_a.py", "repo", ByConfig, "pyproject.toml"},
		{"pyproject with table", map[string]string{"p/pyproject.toml": "[tool.pytest.ini_options]\naddopts = \"-ra\"\n", "p/tests/test_a.py": pyTest},
			"p/tests/test_a.py", "p", ByConfig, "pyproject.toml"},
		{"pyproject dotted keys", map[string]string{"p/pyproject.toml": "tool.pytest.ini_options.addopts = \"-ra\"\n", "p/test_a.py": pyTest},
			"p/test_a.py", "p", ByConfig, "pyproject.toml"},
		{"setup.cfg tool:pytest", map[string]string{"p/setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\ntestpaths = tests\n", "p/tests/test_a.py": pyTest},
			"p/tests/test_a.py", "p", ByConfig, "setup.cfg"},
		{"setup.cfg without section is skipped", map[string]string{"p/setup.cfg": "[metadata]\nname = x\n", "p/test_a.py": pyTest},
			"p/test_a.py", ".", ByCatalogRoot, ""},
		{"pytest.ini before pyproject in one directory", map[string]string{"p/pyproject.toml": "[tool.pytest.ini_options]\n",
			"p/pytest.ini": "[pytest]\n", "p/test_a.py": pyTest}, "p/test_a.py", "p", ByConfig, "pytest.ini"},
		{".pytest.ini with section", map[string]string{"p/.pytest.ini": "[pytest]\n", "p/test_a.py": pyTest},
			"p/test_a.py", "p", ByConfig, ".pytest.ini"},
		{"setup.py fallback", map[string]string{"lib/setup.py": "", "lib/tests/test_a.py": pyTest},
			"lib/tests/test_a.py", "lib", BySetupPy, ""},
		{"config above beats nearer setup.py", map[string]string{"repo/tox.ini": "[pytest]\n", "repo/lib/setup.py": "", "repo/lib/tests/test_a.py": pyTest},
			"repo/lib/tests/test_a.py", "repo", ByConfig, "tox.ini"},
		{"nothing: the catalog root", map[string]string{"a/b/test_a.py": pyTest}, "a/b/test_a.py", ".", ByCatalogRoot, ""},
		{"config next to the test", map[string]string{"a/pytest.ini": "[pytest]\n", "a/test_a.py": pyTest}, "a/test_a.py", "a", ByConfig, "pytest.ini"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := layout(t, tc.files)
			got := Find(root, filepath.Join(root, tc.test))
			wantDir := filepath.Join(root, tc.wantDir)
			assert.Equal(t, wantDir, got.Dir)
			assert.Equal(t, tc.wantBy, got.By)
			gotCfg := ""
			if got.Config != nil {
				require.NoError(t, got.Config.Err)
				gotCfg = got.Config.File
			}
			wantCfg := ""
			if tc.wantCfg != "" {
				wantCfg = filepath.Join(wantDir, tc.wantCfg)
			}
			assert.Equal(t, wantCfg, gotCfg)

			// The same answer as pytest's own, started in the project root.
			pyDir, pyCfg := pytestRootdir(t, got.Dir, filepath.Join(root, tc.test))
			assert.Equal(t, got.Dir, pyDir, "pytest's rootdir")
			assert.Equal(t, gotCfg, pyCfg, "pytest's configfile")
		})
	}
}

// TestFindPyprojectBeforeSetupPy: with no pytest config, the nearest
// pyproject.toml marks the project even when a setup.py is nearer or
// farther, as in pytest 8.1 (pytest 7 would pick the setup.py; Baton
// passes --rootdir, so both agree with Find).
func TestFindPyprojectBeforeSetupPy(t *testing.T) {
	t.Parallel()
	root := layout(t, map[string]string{"repo/setup.py": "", "repo/lib/pyproject.toml": "[project]\n",
		"repo/lib/sub/setup.py": "", "repo/lib/sub/tests/test_a.py": pyTest, "other/setup.py": "", "other/test_b.py": pyTest})
	assert.Equal(t, Root{Dir: filepath.Join(root, "repo", "lib"), By: ByPyproject}, Find(root, filepath.Join(root, "repo", "lib", "sub", "tests", "test_a.py")))
	assert.Equal(t, Root{Dir: filepath.Join(root, "other"), By: BySetupPy}, Find(root, filepath.Join(root, "other", "test_b.py")))
}

func TestFindNeverAboveCatalogRoot(t *testing.T) {
	t.Parallel()
	outer := layout(t, map[string]string{"pytest.ini": "[pytest]\n", "setup.py": "", "cat/x/test_a.py": pyTest})
	root := filepath.Join(outer, "cat")
	got := Find(root, filepath.Join(root, "x", "test_a.py"))
	assert.Equal(t, Root{Dir: root, By: ByCatalogRoot}, got)
	ini, setupPy := Above(root)
	assert.Equal(t, filepath.Join(outer, "pytest.ini"), ini)
	assert.Equal(t, filepath.Join(outer, "setup.py"), setupPy)
}

func TestMalformedConfigStillDecidesTheRoot(t *testing.T) {
	t.Parallel()
	root := layout(t, map[string]string{
		"a/tox.ini": "[pytest]\n  continuation without a key\n", "a/test_a.py": pyTest,
		"b/pyproject.toml": "[tool.pytest.ini_options\n", "b/test_b.py": pyTest,
		"c/setup.cfg": "[pytest]\naddopts = -q\n", "c/test_c.py": pyTest,
	})
	for _, d := range []string{"a", "b", "c"} {
		got := Find(root, filepath.Join(root, d))
		assert.Equal(t, filepath.Join(root, d), got.Dir, d)
		require.NotNil(t, got.Config, d)
		assert.Error(t, got.Config.Err, d)
	}
}

func TestConfigValues(t *testing.T) {
	t.Parallel()
	root := layout(t, map[string]string{
		"ini/pytest.ini":      "# comment\n[pytest]\naddopts = -ra\n    --strict-markers 'a b'\npython_files = check_*.py\n  *_spec.py\nmarkers =\n    slow: slow tests\n",
		"toml/pyproject.toml": "[tool.pytest.ini_options]\naddopts = [\"-ra\", \"-q\"]\npython_files = \"check_*.py\"\nminversion = 6.0\nxfail_strict = true\n",
	})
	ini := Find(root, filepath.Join(root, "ini")).Config
	add, ok := ini.Args("addopts")
	assert.True(t, ok)
	assert.Equal(t, []string{"-ra", "--strict-markers", "a b"}, add)
	assert.Equal(t, []string{"check_*.py", "*_spec.py"}, ini.PythonFiles())
	assert.Equal(t, DefaultNoRecurseDirs, ini.NoRecurseDirs())

	toml := Find(root, filepath.Join(root, "toml")).Config
	add, _ = toml.Args("addopts")
	assert.Equal(t, []string{"-ra", "-q"}, add)
	assert.Equal(t, []string{"check_*.py"}, toml.PythonFiles())
	assert.Equal(t, "6.0", toml.Values["minversion"])
	assert.Equal(t, "True", toml.Values["xfail_strict"])

	var none *Config
	assert.Equal(t, DefaultPythonFiles, none.PythonFiles())
}

func TestParseINIErrors(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"key = value\n",               // no section
		"[a]\n[a]\n",                  // duplicate section
		"[a]\nx = 1\nx = 2\n",         // duplicate name
		"[a]\n  continued\n",          // continuation without value
		"[]\n",                        // empty section name
		"[a]\nnot a key value line\n", // unexpected line
	} {
		_, err := parseINI(text)
		assert.Error(t, err, "%q", text)
	}
	ini, err := parseINI("; c\n[s] # note\nk: v\n  more\n\n# x\nk2 = a:b\n")
	require.NoError(t, err)
	assert.Equal(t, iniFile{"s": {"k": "v\nmore", "k2": "a:b"}}, ini)
}

func TestShlexSplit(t *testing.T) {
	t.Parallel()
	got, err := shlexSplit(`-ra  -k "not slow and x" --x='a b' a\ b "q\"q" "\d"`)
	require.NoError(t, err)
	assert.Equal(t, []string{"-ra", "-k", "not slow and x", "--x=a b", "a b", `q"q`, `\d`}, got)
	_, err = shlexSplit(`"open`)
	assert.Error(t, err)
}

func TestMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, path string
		want      bool
	}{
		{"test_*.py", "tests/test_a.py", true},
		{"test_*.py", "tests/a_test.py", false},
		{"*_test.py", "a_test.py", true},
		{"check_?.py", "x/check_1.py", true},
		{"check_[0-9].py", "check_a.py", false},
		{"check_[!0-9].py", "check_a.py", true},
		{"tests/**/test_*.py", "tests/unit/deep/test_a.py", true},
		{"tests/*.py", "src/tests/x.py", true}, // relative pattern matches the end
		{"tests/*.py", "other/x.py", false},
		{".*", ".venv", true},
		{"*.egg", "foo.egg", true},
		{"[abc", "[abc", true},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Match(c.pat, c.path), "%s ~ %s", c.pat, c.path)
	}
	r := Root{Config: &Config{Values: map[string]any{"python_files": "check_*.py"}}}
	assert.True(t, r.IsTestFile("a/check_x.py"))
	assert.False(t, r.IsTestFile("a/test_x.py"))
	assert.False(t, r.IsTestFile("a/check_x.txt"))
	assert.True(t, Root{}.SkipsDir("node_modules"))
	assert.False(t, Root{}.SkipsDir("tests"))
}

func TestFinderCachesUntilTheFileChanges(t *testing.T) {
	t.Parallel()
	root := layout(t, map[string]string{"p/pytest.ini": "[pytest]\npython_files = a_*.py\n"})
	f := &Finder{}
	assert.Equal(t, []string{"a_*.py"}, f.Find(root, filepath.Join(root, "p")).Config.PythonFiles())
	require.NoError(t, os.WriteFile(filepath.Join(root, "p", "pytest.ini"), []byte("[pytest]\npython_files = bb_*.py\n"), 0o644))
	assert.Equal(t, []string{"bb_*.py"}, f.Find(root, filepath.Join(root, "p")).Config.PythonFiles())
}
