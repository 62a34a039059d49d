package catalog

import (
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/project"
)

// Scan walks all roots and returns the test files sorted by path and the
// directories sorted by path. Test files are those pytest would collect in
// their test project (see package project): .py files matching the
// project's python_files (test_*.py and *_test.py by default), outside its
// norecursedirs and virtualenvs; hidden entries and __pycache__ are skipped, symlinked directories are not
// followed, and a symlinked file is listed only if it leads to a regular file
// inside the roots. Every other directory is listed, the roots and empty ones
// included. Scan only reads directory entries and stats candidate files, so
// it is cheap enough to run every second.
func (c *Catalog) Scan() ([]domain.TestFile, []domain.TestDirectory, error) {
	files := []domain.TestFile{}
	dirs := []domain.TestDirectory{}
	for i := range c.roots {
		var err error
		if files, dirs, err = c.scanRoot(&c.roots[i], files, dirs); err != nil {
			return nil, nil, err
		}
	}
	slices.SortFunc(files, func(a, b domain.TestFile) int { return cmp.Compare(a.Path, b.Path) })
	slices.SortFunc(dirs, func(a, b domain.TestDirectory) int { return cmp.Compare(a.Path, b.Path) })
	return files, dirs, nil
}

func (c *Catalog) scanRoot(r *root, files []domain.TestFile, dirs []domain.TestDirectory) ([]domain.TestFile, []domain.TestDirectory, error) {
	entries, err := os.ReadDir(r.real)
	if err != nil {
		return nil, nil, err
	}
	w := &scanWalk{c: c, r: r, files: files, dirs: dirs}
	w.dir(r.real, r.name, nil, entries)
	return w.files, w.dirs, nil
}

// scanWalk walks one root reading each directory once: the same entries
// tell which files are tests and which config files decide the projects,
// so a rescan costs a readdir per directory and a stat per candidate file.
// Below the root, an unreadable directory or an entry deleted while we walk
// must not hide the rest of the catalog; it is simply not listed (an
// unreadable directory is listed empty).
type scanWalk struct {
	c     *Catalog
	r     *root
	files []domain.TestFile
	dirs  []domain.TestDirectory
}

func (w *scanWalk) dir(dir, cp string, parent *dirProject, entries []fs.DirEntry) {
	dp := w.c.projectFromEntries(w.r, dir, parent, entries)
	idx := len(w.dirs)
	w.dirs = append(w.dirs, domain.TestDirectory{
		Path: cp,
		// Writable promises that Upload accepts the directory, so it also
		// requires a name Upload would accept.
		Writable: w.r.writable && checkDirectory(cp) == "",
	})
	for _, e := range entries {
		name := e.Name()
		if !listable(name) {
			continue
		}
		p := filepath.Join(dir, name)
		switch t := e.Type(); {
		case t.IsDir():
			sub, _ := os.ReadDir(p)
			if !dp.recursesInto(p, sub) {
				continue
			}
			w.dir(p, cp+"/"+name, dp, sub)
		case (t.IsRegular() || t&fs.ModeSymlink != 0) && dp.collects(p):
			fi, ok := w.c.statTestFile(p)
			if !ok {
				continue
			}
			w.files = append(w.files, domain.TestFile{
				Path:       cp + "/" + name,
				Directory:  cp,
				SizeBytes:  fi.Size(),
				ModifiedAt: modTime(fi),
			})
			w.dirs[idx].FileCount++
		}
	}
}

// dirProject is the test project a directory belongs to, and what decides
// it for the directories below: the nearest config above (which beats any
// pyproject.toml or setup.py), the nearest pyproject.toml (which beats any
// setup.py) and the nearest setup.py.
type dirProject struct {
	project.Root
	cfg       *project.Root
	pyproject string
	setup     string
}

// projectOf works out the project of directory dir from its parent's, as
// project.Find would from scratch, with one look at dir's own files.
func (c *Catalog) projectOf(r *root, dir string, parent *dirProject) *dirProject {
	dp := &dirProject{}
	if parent != nil {
		dp.cfg, dp.pyproject, dp.setup = parent.cfg, parent.pyproject, parent.setup
	}
	if cfg := c.finder.ConfigIn(dir, nil); cfg != nil {
		dp.cfg = &project.Root{Dir: dir, By: project.ByConfig, Config: cfg}
	}
	if isRegular(filepath.Join(dir, "pyproject.toml")) {
		dp.pyproject = dir
	}
	if isRegular(filepath.Join(dir, "setup.py")) {
		dp.setup = dir
	}
	dp.decide(r)
	return dp
}

// projectFromEntries is projectOf for a directory whose entries are known,
// so only config files that are there are looked at.
func (c *Catalog) projectFromEntries(r *root, dir string, parent *dirProject, entries []fs.DirEntry) *dirProject {
	dp := &dirProject{}
	if parent != nil {
		dp.cfg, dp.pyproject, dp.setup = parent.cfg, parent.pyproject, parent.setup
	}
	present := map[string]bool{}
	for _, e := range entries {
		switch n := e.Name(); n {
		case "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", "setup.py":
			present[n] = !e.IsDir()
		}
	}
	if len(present) > 0 {
		if cfg := c.finder.ConfigIn(dir, present); cfg != nil {
			dp.cfg = &project.Root{Dir: dir, By: project.ByConfig, Config: cfg}
		}
		if present["pyproject.toml"] && isRegular(filepath.Join(dir, "pyproject.toml")) {
			dp.pyproject = dir
		}
		if present["setup.py"] && isRegular(filepath.Join(dir, "setup.py")) {
			dp.setup = dir
		}
	}
	dp.decide(r)
	return dp
}

func isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// decide sets the project from the nearest config, pyproject.toml and setup.py.
func (dp *dirProject) decide(r *root) {
	switch {
	case dp.cfg != nil:
		dp.Root = *dp.cfg
	case dp.pyproject != "":
		dp.Root = project.Root{Dir: dp.pyproject, By: project.ByPyproject}
	case dp.setup != "":
		dp.Root = project.Root{Dir: dp.setup, By: project.BySetupPy}
	default:
		dp.Root = project.Root{Dir: r.real, By: project.ByCatalogRoot}
	}
}

// recursesInto is recurses for a directory whose entries are known: the
// virtualenv check needs a stat only when there is a bin folder.
func (dp *dirProject) recursesInto(p string, entries []fs.DirEntry) bool {
	if dp == nil || dp.SkipsDir(relSlash(dp.Dir, p)) {
		return false
	}
	for _, e := range entries {
		if e.Name() == "bin" && e.IsDir() {
			_, err := os.Stat(filepath.Join(p, "bin", "activate"))
			return err != nil
		}
	}
	return true
}

// collects reports whether pytest, collecting the project, would take the
// file at p as a test module (its python_files).
func (dp *dirProject) collects(p string) bool {
	return dp != nil && dp.IsTestFile(relSlash(dp.Dir, p))
}

// recurses reports whether pytest would look into directory p: not one of
// the project's norecursedirs, and not a virtualenv.
func (dp *dirProject) recurses(p string) bool {
	if dp == nil || dp.SkipsDir(relSlash(dp.Dir, p)) {
		return false
	}
	_, err := os.Stat(filepath.Join(p, "bin", "activate"))
	return err != nil
}

func relSlash(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return filepath.Base(p)
	}
	return filepath.ToSlash(rel)
}

// modTime is in UTC and truncated to microseconds so a value survives a round
// trip through PostgreSQL unchanged and compares equal to a fresh scan.
func modTime(fi fs.FileInfo) time.Time { return fi.ModTime().UTC().Truncate(time.Microsecond) }

// EqualFiles reports whether two Scan results list the same files with the
// same sizes and modification times, so a caller can skip syncing an
// unchanged catalog.
func EqualFiles(a, b []domain.TestFile) bool {
	return slices.EqualFunc(a, b, func(x, y domain.TestFile) bool {
		return x.Path == y.Path && x.Directory == y.Directory &&
			x.SizeBytes == y.SizeBytes && x.ModifiedAt.Equal(y.ModifiedAt)
	})
}

// EqualDirectories reports whether two Scan results list the same directories
// with the same flags and file counts.
func EqualDirectories(a, b []domain.TestDirectory) bool { return slices.Equal(a, b) }
