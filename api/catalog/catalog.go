// Package catalog is Baton's test catalog on disk: it lists the pytest files
// under a few root directories, maps catalog paths back to files, and stores
// uploaded test files so that nothing half-written or unsafe ever lands in
// the tree.
//
// A catalog path is relative, forward-slashed and starts with its root's name,
// e.g. "sample-tests/test_success.py" or "uploads/payments/smoke/test_api.py".
package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/project"
)

// DefaultMaxUploadBytes is the upload size limit used when Options leaves it 0.
const DefaultMaxUploadBytes int64 = 1 << 20

// Root is a directory tree holding test files. Name is the first element of
// the catalog paths below it and defaults to the base name of Dir; Dir must be
// absolute. Only writable roots accept uploads.
type Root struct {
	Name     string
	Dir      string
	Writable bool
}

// Options configures a Catalog.
type Options struct {
	// Python is the interpreter used to syntax-check uploads, e.g. "/usr/bin/python3".
	// Without it the catalog can still be scanned, but every upload fails.
	Python string
	// MaxUploadBytes caps the size of an uploaded file; 0 means DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// MaxProjectBytes caps the total (uncompressed) size of an uploaded
	// project; 0 means DefaultMaxProjectBytes.
	MaxProjectBytes int64
	// MaxProjectFiles caps the number of files of an uploaded project; 0
	// means DefaultMaxProjectFiles.
	MaxProjectFiles int
}

// Catalog gives access to the test files under a fixed set of roots. It is
// safe for concurrent use.
type Catalog struct {
	roots     []root
	byName    map[string]*root
	python    string
	maxUpload int64
	// maxProjectBytes and maxProjectFiles bound a project upload.
	maxProjectBytes int64
	maxProjectFiles int
	// checks bounds how many Python syntax checks run at once, so a burst of
	// uploads cannot fork an unbounded number of interpreters.
	checks chan struct{}
	// finder caches the projects' parsed config files between scans.
	finder *project.Finder
}

type root struct {
	name     string
	real     string // Dir with symlinks resolved: what containment is checked against
	writable bool
}

// New checks the roots and returns a catalog over them. Writable roots that do
// not exist are created; read-only roots must exist. Roots must have distinct,
// valid names and must not overlap.
func New(roots []Root, opts Options) (*Catalog, error) {
	if len(roots) == 0 {
		return nil, errors.New("catalog: no roots configured")
	}
	if opts.MaxUploadBytes < 0 {
		return nil, fmt.Errorf("catalog: MaxUploadBytes is negative (%d)", opts.MaxUploadBytes)
	}
	c := &Catalog{
		byName:    make(map[string]*root, len(roots)),
		python:    opts.Python,
		maxUpload: opts.MaxUploadBytes,
		checks:    make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
		finder:    &project.Finder{},
	}
	if c.maxUpload == 0 {
		c.maxUpload = DefaultMaxUploadBytes
	}
	c.maxProjectBytes, c.maxProjectFiles = opts.MaxProjectBytes, opts.MaxProjectFiles
	if c.maxProjectBytes <= 0 {
		c.maxProjectBytes = DefaultMaxProjectBytes
	}
	if c.maxProjectFiles <= 0 {
		c.maxProjectFiles = DefaultMaxProjectFiles
	}
	for _, r := range roots {
		if !filepath.IsAbs(r.Dir) {
			return nil, fmt.Errorf("catalog: root directory %q is not absolute", r.Dir)
		}
		dir := filepath.Clean(r.Dir)
		name := r.Name
		if name == "" {
			name = filepath.Base(dir)
		}
		if why := checkElement(name); why != "" {
			return nil, fmt.Errorf("catalog: root name %q of %s is invalid: %s", name, dir, why)
		}
		if _, dup := c.byName[name]; dup {
			return nil, fmt.Errorf("catalog: two roots are named %q", name)
		}
		if r.Writable {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("catalog: create root %q: %w", name, err)
			}
		}
		resolved, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return nil, fmt.Errorf("catalog: root %q: %w", name, err)
		}
		if fi, err := os.Stat(resolved); err != nil {
			return nil, fmt.Errorf("catalog: root %q: %w", name, err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("catalog: root %q: %s is not a directory", name, dir)
		}
		for _, o := range c.roots {
			// Overlapping roots would list the same file under two paths and let an
			// upload into one root land inside another one.
			if within(resolved, o.real) || within(o.real, resolved) {
				return nil, fmt.Errorf("catalog: roots %q and %q overlap", o.name, name)
			}
		}
		c.roots = append(c.roots, root{name: name, real: resolved, writable: r.Writable})
		c.byName[name] = nil // reserves the name; filled once c.roots stops growing
	}
	for i := range c.roots {
		c.byName[c.roots[i].name] = &c.roots[i]
	}
	return c, nil
}

// Roots returns the catalog's roots with their names filled in and Dir
// resolved to its real path.
func (c *Catalog) Roots() []Root {
	out := make([]Root, len(c.roots))
	for i, r := range c.roots {
		out[i] = Root{Name: r.name, Dir: r.real, Writable: r.writable}
	}
	return out
}

// MaxUploadBytes returns the largest file Upload accepts, so the HTTP layer
// can cap request bodies to match.
func (c *Catalog) MaxUploadBytes() int64 { return c.maxUpload }

// Resolve maps the catalog path of a test file to its absolute path. It accepts
// exactly the files Scan lists (the same project rules, applied top-down): a path that is malformed (absolute, "..",
// empty elements, backslashes, control characters) is EINVALID; one that names
// no listed test file (unknown root, hidden element, symlinked directory, link
// leading outside the roots, missing file, non-test file) is ENOTFOUND.
func (c *Catalog) Resolve(p string) (string, error) {
	if p == "" {
		return "", domain.Errorf(domain.EINVALID, "test file path is required")
	}
	els := strings.Split(p, "/")
	for _, el := range els {
		if el == "" || el == "." || el == ".." || strings.Contains(el, `\`) || hasControl(el) {
			return "", domain.Errorf(domain.EINVALID, "%q is not a valid catalog path: use a relative path such as sample-tests/test_a.py", p)
		}
	}
	notFound := domain.Errorf(domain.ENOTFOUND, "%q is not a test file in the catalog", p)
	r, ok := c.byName[els[0]]
	if !ok || len(els) < 2 || !strings.HasSuffix(p, ".py") {
		return "", notFound
	}
	for _, el := range els[1:] {
		if !listable(el) {
			return "", notFound
		}
	}
	abs := filepath.Join(r.real, filepath.Join(els[1:]...))
	// Scan does not follow symlinked directories, so nothing under one is in the catalog.
	dir := r.real
	parent := c.projectOf(r, dir, nil)
	for _, el := range els[1 : len(els)-1] {
		dir = filepath.Join(dir, el)
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !parent.recurses(dir) {
			return "", notFound
		}
		parent = c.projectOf(r, dir, parent)
	}
	if !parent.collects(abs) {
		return "", notFound
	}
	if _, ok := c.statTestFile(abs); !ok {
		return "", notFound
	}
	return abs, nil
}

// statTestFile returns the info of the regular file at abs, following a final
// symlink only if it stays inside the roots. It reports false for anything
// that is not a catalog file, including files that vanished meanwhile.
func (c *Catalog) statTestFile(abs string) (fs.FileInfo, bool) {
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, false
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		resolved, err := filepath.EvalSymlinks(abs)
		if err != nil || !c.insideRoots(resolved) {
			return nil, false
		}
		if fi, err = os.Stat(resolved); err != nil {
			return nil, false
		}
	}
	return fi, fi.Mode().IsRegular()
}

func (c *Catalog) insideRoots(p string) bool {
	return slices.ContainsFunc(c.roots, func(r root) bool { return within(p, r.real) })
}

// within reports whether p is base or below it; both must be clean and absolute.
func within(p, base string) bool {
	rel, err := filepath.Rel(base, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// RootDirs maps each root's name to its directory, for runners that
// address files by catalog path.
func (c *Catalog) RootDirs() map[string]string {
	out := make(map[string]string, len(c.roots))
	for _, r := range c.Roots() {
		out[r.Name] = r.Dir
	}
	return out
}
