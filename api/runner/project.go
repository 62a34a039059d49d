package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/baton-ci/baton/api/project"
)

// This file decides *what* a run launches: which pytest processes, in which
// directory, with which arguments. How they are launched, supervised and
// killed is Run's business (runner.go). The contract between the two is
// Invocation: a run is a list of them, executed one after another inside one
// hold of the environment.

// Invocation is one pytest process of a run: `python -m pytest …` started
// in a test project's root, as a user would start it by hand.
type Invocation struct {
	// Project is the catalog path of the project root ("uploads/shop", or a
	// root's name such as "uploads"); pytest's node ids are relative to it,
	// so a catalog node id is Project + "/" + pytest's node id.
	Project string `json:"project"`
	// Dir is the absolute project root: pytest's working directory and rootdir.
	Dir string `json:"dir"`
	// Argv is the command, interpreter first.
	Argv []string `json:"argv"`
	// Report is where pytest writes its JUnit report, outside the project.
	Report string `json:"report"`
	// Tests are the files and node ids given to pytest, relative to Dir.
	Tests []string `json:"tests"`
	// Root says how Dir was decided, for the log: "pytest.ini",
	// "pyproject.toml", "setup.py", "catalog root".
	Root string `json:"root"`
	// Note explains anything Baton had to tell pytest beyond the user's
	// suite (a config above the catalog root that was kept out), or "".
	Note string `json:"note,omitempty"`
}

// target is one test argument of a run, resolved.
type target struct {
	catalog string // "uploads/shop/tests/test_a.py::TestA::test_x"
	abs     string // absolute path of the file
	suffix  string // "::TestA::test_x" or ""
}

// Plan turns a run's tests into invocations: files (and node ids) are
// grouped by project, one pytest per project in catalog-path order; within
// a project, files that pytest's default import mode would import under
// the same module name (two test_api.py in folders without __init__.py)
// go to separate invocations, because one pytest would refuse them with
// "import file mismatch". workDir is the run's private directory, outside
// every project, for reports and pytest's cache. env is the environment
// pytest will get (PYTEST_ADDOPTS in it counts like addopts).
func Plan(python string, spec Spec, workDir string, env []string) ([]Invocation, error) {
	targets, err := resolveTargets(spec)
	if err != nil {
		return nil, err
	}
	type group struct {
		proj    project.Root
		catRoot string
		catPath string // catalog path of proj.Dir
		targets []target
	}
	groups := map[string]*group{}
	for _, tg := range targets {
		catRoot, catName := catalogRootOf(spec, tg)
		proj := project.Find(catRoot, tg.abs)
		g := groups[proj.Dir]
		if g == nil {
			rel, _ := filepath.Rel(catRoot, proj.Dir)
			cp := catName
			if rel != "." {
				cp = joinCatalog(catName, filepath.ToSlash(rel))
			}
			g = &group{proj: proj, catRoot: catRoot, catPath: cp}
			groups[proj.Dir] = g
		}
		g.targets = append(g.targets, tg)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return groups[keys[i]].catPath < groups[keys[j]].catPath })

	envAddopts, _ := lookupEnv(env, "PYTEST_ADDOPTS")
	var out []Invocation
	for _, k := range keys {
		g := groups[k]
		addopts, _ := g.proj.Config.Args("addopts")
		extra, err := shlexArgs(envAddopts)
		if err != nil {
			return nil, fmt.Errorf("PYTEST_ADDOPTS: %w", err)
		}
		userArgs := append(append([]string{}, addopts...), extra...)
		for _, batch := range splitByModule(g.targets, importMode(userArgs)) {
			n := len(out) + 1
			inv := Invocation{
				Project: g.catPath,
				Dir:     g.proj.Dir,
				Report:  filepath.Join(workDir, "report-"+strconv.Itoa(n)+".xml"),
				Root:    rootLabel(g.proj),
			}
			for _, tg := range batch {
				rel, _ := filepath.Rel(g.proj.Dir, tg.abs)
				inv.Tests = append(inv.Tests, filepath.ToSlash(rel)+tg.suffix)
			}
			argv := []string{python, "-m", "pytest"}
			for range verbosityBoost(userArgs) {
				argv = append(argv, "-v")
			}
			argv = append(argv,
				// The cache and the report live in the run's directory, so
				// nothing is written into the project and --lf, --ff or the
				// cache fixture still work.
				"-o", "cache_dir="+filepath.Join(workDir, "cache-"+strconv.Itoa(n)),
				"--junitxml="+inv.Report,
				// xunit1 records each test's file, which maps results to node ids.
				"-o", "junit_family=xunit1",
			)
			if !g.proj.HasConfig() {
				// pytest 7 loads conftest.py files from every ancestor when
				// there is no config; the catalog root is the limit.
				argv = append(argv, "--confcutdir="+g.proj.Dir)
				// pytest before 8.1 does not take a pyproject.toml without
				// its table as the rootdir: it would look for a setup.py.
				rootdir := g.proj.By == project.ByPyproject
				ini, setupPy := project.Above(g.catRoot)
				switch {
				case ini != "":
					stub := filepath.Join(workDir, "no-config-"+strconv.Itoa(n)+".ini")
					if err := os.WriteFile(stub, []byte("[pytest]\n"), 0o644); err != nil {
						return nil, err
					}
					argv = append(argv, "-c", stub)
					rootdir = true
					inv.Note = "pytest would take its config from " + ini + ", above the catalog root; it is kept out"
				case setupPy != "" && g.proj.By == project.ByCatalogRoot:
					rootdir = true
					inv.Note = "pytest would take its rootdir from " + setupPy + ", above the catalog root; it is kept out"
				}
				if rootdir {
					argv = append(argv, "--rootdir="+g.proj.Dir)
				}
			}
			if spec.Keyword != "" {
				argv = append(argv, "-k", spec.Keyword)
			}
			if spec.Markers != "" {
				argv = append(argv, "-m", spec.Markers)
			}
			// "--" keeps a test path that starts with "-" from being an option.
			argv = append(argv, "--")
			argv = append(argv, inv.Tests...)
			inv.Argv = argv
			out = append(out, inv)
		}
	}
	return out, nil
}

func rootLabel(p project.Root) string {
	switch {
	case p.Config != nil:
		return filepath.Base(p.Config.File)
	case p.By == project.BySetupPy, p.By == project.ByPyproject:
		return p.By
	}
	return "catalog root"
}

// resolveTargets maps the run's files and node ids to absolute paths. With
// spec.Roots they are catalog paths; without, file system paths (for
// callers outside the catalog, such as tests).
func resolveTargets(spec Spec) ([]target, error) {
	entries := append(append([]string{}, spec.Files...), spec.Tests...)
	if len(entries) == 0 {
		return nil, fmt.Errorf("no test files given")
	}
	out := make([]target, 0, len(entries))
	for _, e := range entries {
		file, rest, hasSuffix := strings.Cut(e, "::")
		tg := target{catalog: e}
		if hasSuffix {
			tg.suffix = "::" + rest
		}
		if spec.Roots == nil {
			abs, err := filepath.Abs(file)
			if err != nil {
				return nil, err
			}
			tg.abs = abs
		} else {
			name, rel, ok := strings.Cut(file, "/")
			dir, known := spec.Roots[name]
			if !ok || !known || rel == "" {
				return nil, fmt.Errorf("%s is not in a catalog root", file)
			}
			tg.abs = filepath.Join(dir, filepath.FromSlash(rel))
		}
		out = append(out, tg)
	}
	return out, nil
}

// catalogRootOf returns the catalog root directory of tg and its name. A
// run outside the catalog treats the common directory of its files as the
// catalog root, with an empty name.
func catalogRootOf(spec Spec, tg target) (string, string) {
	if spec.Roots != nil {
		name, _, _ := strings.Cut(tg.catalog, "/")
		return filepath.Clean(spec.Roots[name]), name
	}
	common := ""
	for _, e := range append(append([]string{}, spec.Files...), spec.Tests...) {
		file, _, _ := strings.Cut(e, "::")
		abs, _ := filepath.Abs(file)
		d := filepath.Dir(abs)
		for common != "" && !isWithin(d, common) {
			common = filepath.Dir(common)
		}
		if common == "" {
			common = d
		}
	}
	return common, ""
}

func joinCatalog(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}

func isWithin(p, base string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// importMode returns the --import-mode the user's own options choose
// (pytest's default is prepend).
func importMode(args []string) string {
	mode := "prepend"
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "--import-mode="):
			mode = strings.TrimPrefix(a, "--import-mode=")
		case a == "--import-mode" && i+1 < len(args):
			mode = args[i+1]
		}
	}
	return mode
}

// splitByModule splits targets into batches in which no module name stands
// for two files or folders under pytest's prepend/append import modes: two
// test files of the same name outside packages, or two packages of the
// same name (tests/__init__.py in two folders: the second tests.conftest or
// tests.test_x would be looked up in the first tests package). With
// importlib there is no such clash and everything stays in one batch.
func splitByModule(targets []target, mode string) [][]target {
	if mode == "importlib" {
		return [][]target{targets}
	}
	var batches [][]target
	var owners []map[string]string // per batch: module or package name -> its path
	for _, tg := range targets {
		claims := moduleClaims(tg.abs)
		placed := false
		for i := range batches {
			if fits(owners[i], claims) {
				batches[i] = append(batches[i], tg)
				for name, p := range claims {
					owners[i][name] = p
				}
				placed = true
				break
			}
		}
		if !placed {
			batches = append(batches, []target{tg})
			owners = append(owners, claims)
		}
	}
	return batches
}

func fits(owners, claims map[string]string) bool {
	for name, p := range claims {
		if q, ok := owners[name]; ok && q != p {
			return false
		}
	}
	return true
}

// moduleClaims is the dotted name pytest's prepend import mode imports a
// test file under (pathlib.py, resolve_package_path: from the outermost
// directory of consecutive packages, or the bare file stem) and the name of
// each package on the way, each with the path it stands for.
func moduleClaims(file string) map[string]string {
	names := []string{strings.TrimSuffix(filepath.Base(file), ".py")}
	paths := []string{file}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		base := filepath.Base(dir)
		if fi, err := os.Stat(filepath.Join(dir, "__init__.py")); err != nil || !fi.Mode().IsRegular() || !isIdentifier(base) {
			break
		}
		names = append([]string{base}, names...)
		paths = append([]string{dir}, paths...)
		if dir == filepath.Dir(dir) {
			break
		}
	}
	if len(names) > 1 && names[len(names)-1] == "__init__" {
		names, paths = names[:len(names)-1], paths[:len(paths)-1] // the package itself
	}
	claims := make(map[string]string, len(names))
	for i := range names {
		claims[strings.Join(names[:i+1], ".")] = paths[i]
	}
	return claims
}

func isIdentifier(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r < 0x80 {
			return false
		}
	}
	return true
}

// verbosityBoost returns how many -v Baton must add so that pytest prints
// one line per test (verbosity 1), which the log's progress counter reads,
// given the user's own -v / -q options: one normally, none after "-v",
// two after "-q".
func verbosityBoost(args []string) []struct{} {
	v := 0
	for _, a := range args {
		switch {
		case a == "--verbose":
			v++
		case a == "--quiet":
			v--
		case strings.HasPrefix(a, "--verbosity="):
			if n, err := strconv.Atoi(strings.TrimPrefix(a, "--verbosity=")); err == nil {
				v = n
			}
		case len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], "vq") == "":
			v += strings.Count(a, "v") - strings.Count(a, "q")
		}
	}
	return make([]struct{}, max(0, 1-v))
}

func shlexArgs(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return project.SplitArgs(s)
}

func lookupEnv(env []string, name string) (string, bool) {
	v, ok := "", false
	for _, kv := range env {
		if k, val, found := strings.Cut(kv, "="); found && k == name {
			v, ok = val, true
		}
	}
	return v, ok
}
