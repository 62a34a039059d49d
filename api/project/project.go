// Package project models pytest test projects on disk: which directory is a
// project's root, what its pytest configuration says, and which files pytest
// would collect. It follows pytest's own rules (config/findpaths.py) with one
// difference: the search never goes above the catalog root, which is the
// project root when nothing below it claims the files.
//
// It only reads the file system; it imports nothing but the standard library
// and a TOML parser, so both the catalog and the runner can use it.
package project

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// How a project's root was decided.
const (
	// ByConfig: the nearest directory with a pytest config file.
	ByConfig = "config"
	// ByPyproject: no config file, but a pyproject.toml without pytest's
	// table, which marks a Python project's root (pytest >= 8.1 takes it as
	// the rootdir then; Baton tells older pytests with --rootdir).
	ByPyproject = "pyproject.toml"
	// BySetupPy: no config file nor pyproject.toml, but a setup.py
	// (pytest's older fallback).
	BySetupPy = "setup.py"
	// ByCatalogRoot: neither below the catalog root; the root itself.
	ByCatalogRoot = "catalog root"
)

// Root is a test project: the directory pytest would use as its rootdir.
type Root struct {
	// Dir is the absolute project root.
	Dir string
	// By says how Dir was decided (ByConfig, BySetupPy, ByCatalogRoot).
	By string
	// Config is the project's pytest config; nil unless By is ByConfig.
	Config *Config
}

// HasConfig reports whether the project has its own pytest config file.
func (r Root) HasConfig() bool { return r.Config != nil }

// Find returns the project of a file or directory at path (absolute, at or
// below catalogRoot, both clean): the nearest directory from path's own
// directory up to catalogRoot holding a pytest config; failing that the
// nearest holding a pyproject.toml (pytest 8.1's rule: sqlparse, for one,
// has no pytest config and its tests expect its own folder as the working
// directory); failing that the nearest holding setup.py; failing that
// catalogRoot.
func Find(catalogRoot, path string) Root {
	return defaultFinder.Find(catalogRoot, path)
}

// Finder finds project roots, caching parsed config files by path, size and
// modification time so a catalog rescan every second costs only stats.
// The zero value is ready to use and safe for concurrent use.
type Finder struct {
	mu    sync.Mutex
	cache map[string]cachedConfig
}

type cachedConfig struct {
	size  int64
	mtime int64
	cfg   *Config
}

var defaultFinder = &Finder{}

// Find is the package-level Find with this Finder's cache.
func (f *Finder) Find(catalogRoot, path string) Root {
	dir := path
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	if !within(dir, catalogRoot) {
		dir = catalogRoot
	}
	pyproject := ""
	for d := dir; ; d = filepath.Dir(d) {
		if cfg := f.ConfigIn(d, nil); cfg != nil {
			return Root{Dir: d, By: ByConfig, Config: cfg}
		}
		if pyproject == "" && isFile(filepath.Join(d, "pyproject.toml")) {
			pyproject = d
		}
		if d == catalogRoot || d == filepath.Dir(d) {
			break
		}
	}
	if pyproject != "" {
		return Root{Dir: pyproject, By: ByPyproject}
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, "setup.py")) {
			return Root{Dir: d, By: BySetupPy}
		}
		if d == catalogRoot || d == filepath.Dir(d) {
			break
		}
	}
	return Root{Dir: catalogRoot, By: ByCatalogRoot}
}

// ConfigIn returns the pytest config pytest would take from directory dir
// itself, or nil. present, when not nil, says which config names are in
// dir (from a directory listing the caller already has), so no other name
// is looked up.
func (f *Finder) ConfigIn(dir string, present map[string]bool) *Config {
	for _, name := range ConfigNames {
		if present != nil && !present[name] {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if cfg := f.load(p, fi); cfg != nil {
			return cfg
		}
	}
	return nil
}

func (f *Finder) load(p string, fi os.FileInfo) *Config {
	key := cachedConfig{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	f.mu.Lock()
	c, ok := f.cache[p]
	f.mu.Unlock()
	if ok && c.size == key.size && c.mtime == key.mtime {
		return c.cfg
	}
	key.cfg = loadConfig(p)
	f.mu.Lock()
	if f.cache == nil {
		f.cache = map[string]cachedConfig{}
	}
	f.cache[p] = key
	f.mu.Unlock()
	return key.cfg
}

// Above tells what pytest, left alone, would find above catalogRoot for a
// project without a config of its own: the nearest config file (ini) and
// the nearest setup.py (used only when there is no config anywhere); ""
// when there is none. Baton then tells pytest its root itself.
func Above(catalogRoot string) (ini, setupPy string) {
	for d := filepath.Dir(catalogRoot); ; d = filepath.Dir(d) {
		if ini == "" {
			if cfg := defaultFinder.ConfigIn(d, nil); cfg != nil {
				ini = cfg.File
			}
		}
		if setupPy == "" && isFile(filepath.Join(d, "setup.py")) {
			setupPy = filepath.Join(d, "setup.py")
		}
		if d == filepath.Dir(d) {
			return ini, setupPy
		}
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// within reports whether p is base or below it; both must be clean and absolute.
func within(p, base string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// IsTestFile reports whether pytest, collecting a directory of the project,
// would collect the file at relPath (slash-separated, relative to the
// project root) as a test module: a .py file matching python_files.
func (r Root) IsTestFile(relPath string) bool {
	if !strings.HasSuffix(relPath, ".py") {
		return false
	}
	for _, pat := range r.Config.PythonFiles() {
		if Match(pat, relPath) {
			return true
		}
	}
	return false
}

// SkipsDir reports whether pytest would not recurse into the directory at
// relPath (relative to the project root) because of norecursedirs.
func (r Root) SkipsDir(relPath string) bool {
	for _, pat := range r.Config.NoRecurseDirs() {
		if Match(pat, relPath) {
			return true
		}
	}
	return false
}

var patternCache sync.Map // pattern -> *regexp.Regexp

// Match is pytest's fnmatch_ex: a pattern without "/" matches the base name,
// one with "/" the whole path (a relative pattern may match its end), with
// Python fnmatch semantics ('*' also matches "/").
func Match(pattern, path string) bool {
	name := path
	if !strings.Contains(pattern, "/") {
		name = path[strings.LastIndexByte(path, '/')+1:]
	} else if !strings.HasPrefix(pattern, "/") {
		// pytest matches against the absolute path with "*/" prepended; the
		// relative path with "/" in front is equivalent.
		pattern = "*/" + pattern
		name = "/" + path
	}
	re, ok := patternCache.Load(pattern)
	if !ok {
		re, _ = patternCache.LoadOrStore(pattern, regexp.MustCompile(translate(pattern)))
	}
	return re.(*regexp.Regexp).MatchString(name)
}

// translate is Python's fnmatch.translate.
func translate(pat string) string {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for i := 0; i < len(pat); {
		c := pat[i]
		i++
		switch c {
		case '*':
			for i < len(pat) && pat[i] == '*' {
				i++
			}
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				b.WriteString(`\[`)
				continue
			}
			stuff := pat[i:j]
			i = j + 1
			neg := strings.HasPrefix(stuff, "!")
			if neg {
				stuff = stuff[1:]
			}
			var cls strings.Builder
			for _, r := range stuff {
				if r == '\\' || r == ']' || r == '[' || r == '^' {
					cls.WriteByte('\\')
				}
				cls.WriteRune(r)
			}
			if cls.Len() == 0 {
				if neg {
					b.WriteString(".")
				} else {
					b.WriteString("[^\\s\\S]")
				}
				continue
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			b.WriteString(cls.String())
			b.WriteByte(']')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return b.String()
}
