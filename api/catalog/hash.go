package catalog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ContentHash returns contentHash of the catalog file p (jobs.Resolver).
func (c *Catalog) ContentHash(p string) (int64, error) {
	abs, err := c.Resolve(p)
	if err != nil {
		return 0, err
	}
	name, _, _ := strings.Cut(p, "/")
	r, ok := c.byName[name]
	if !ok {
		return 0, fmt.Errorf("no catalog root %q", name)
	}
	return contentHash(abs, r.real)
}

// contentHash identifies the content a test file's tests run with: a
// SHA-256 over the file and over every conftest.py pytest loads for it (in
// its own directory and each one above it, up to rootDir), shortened to 64
// bits. Two runs of a test with the same hash ran the same test code, so a
// test that passes in one and fails in the other is flaky rather than
// changed. abs is the file as Resolve returned it; rootDir its catalog root.
func contentHash(abs, rootDir string) (int64, error) {
	root := rootDir
	if resolved, err := filepath.EvalSymlinks(rootDir); err == nil {
		root = resolved
	}
	h := sha256.New()
	add := func(path string, required bool) error {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) && !required {
			return nil
		}
		if err != nil {
			return err
		}
		// Named relative to the root, so hosts that mount the tests at
		// different places agree; length-prefixed, so no two sets of files
		// hash alike.
		name, err := filepath.Rel(root, path)
		if err != nil {
			name = path
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
		return nil
	}
	if err := add(abs, true); err != nil {
		return 0, err
	}
	for dir := filepath.Dir(abs); within(dir, root); dir = filepath.Dir(dir) {
		if err := add(filepath.Join(dir, "conftest.py"), false); err != nil {
			return 0, err
		}
		if dir == root || dir == filepath.Dir(dir) {
			break
		}
	}
	return int64(binary.BigEndian.Uint64(h.Sum(nil)[:8])), nil
}
