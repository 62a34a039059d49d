package catalog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/project"
)

// Upload is a test file to store in the catalog.
type Upload = domain.Upload

// syntaxCheckTimeout bounds one interpreter run; compiling a file of the
// maximum size takes milliseconds, so hitting it means Python is stuck.
const syntaxCheckTimeout = 30 * time.Second

// syntaxCheckExit is the exit status by which the check script reports a
// rejected file; Python itself uses 1 and 2 for its own failures.
const syntaxCheckExit = 3

// syntaxCheckScript compiles the bytes on stdin the way the import system
// would (honouring a BOM or coding cookie) without running them.
const syntaxCheckScript = `import sys
src = sys.stdin.buffer.read()
try:
    compile(src, "<upload>", "exec", dont_inherit=True)
    sys.exit(0)
except SyntaxError as e:
    msg = ("line %d: %s" % (e.lineno, e.msg)) if e.lineno else str(e.msg)
except (RecursionError, MemoryError):
    msg = "too deeply nested to compile"
except ValueError as e:
    msg = str(e)
sys.stdout.buffer.write(msg.encode("utf-8", "backslashreplace"))
sys.exit(3)
`

// Upload validates u and atomically stores it, returning the stored file.
// Bad input yields a *domain.Error (EINVALID with Fields keyed domain.FieldUploadFile or
// domain.FieldUploadDirectory, ECONFLICT, ETOOLARGE) and leaves the tree untouched. A
// missing or broken Python interpreter is an internal (plain) error.
func (c *Catalog) Upload(ctx context.Context, u Upload) (domain.TestFile, error) {
	var none domain.TestFile
	fe := domain.FieldErrors{}
	if why := checkDirectory(u.Directory); why != "" {
		fe.Add(domain.FieldUploadDirectory, why)
	}
	if why := checkFileName(u.FileName, c.pythonFilesFor(u.Directory)); why != "" {
		fe.Add(domain.FieldUploadFile, why)
	}
	if u.Content == nil {
		fe.Add(domain.FieldUploadFile, "content is missing")
	}
	if err := fe.Err(); err != nil {
		return none, err
	}
	r, relDir, err := c.writableRoot(u.Directory)
	if err != nil {
		return none, err
	}
	catalogPath := u.Directory + "/" + u.FileName
	relFile := path.Join(relDir, u.FileName)

	fsys, err := os.OpenRoot(r.real)
	if err != nil {
		return none, fmt.Errorf("catalog: open root %q: %w", r.name, err)
	}
	defer fsys.Close()

	// Checked before reading the body so an obvious conflict costs no Python
	// run; Link below still settles races between concurrent uploads.
	if err := checkTarget(fsys, u.Directory, relDir, relFile, catalogPath, u.Overwrite); err != nil {
		return none, err
	}
	content, err := c.readContent(u.Content)
	if err != nil {
		return none, err
	}
	if err := c.checkSyntax(ctx, content); err != nil {
		return none, err
	}
	// A cancelled request must not leave a file the client believes was refused.
	if err := ctx.Err(); err != nil {
		return none, err
	}
	fi, err := store(fsys, r.real, relDir, relFile, catalogPath, content, u.Overwrite)
	if err != nil {
		return none, err
	}
	return domain.TestFile{
		Path:       catalogPath,
		Directory:  u.Directory,
		SizeBytes:  fi.Size(),
		ModifiedAt: modTime(fi),
	}, nil
}

// writableRoot finds the writable root dir starts with and returns it with
// dir relative to it ("." for the root itself).
func (c *Catalog) writableRoot(dir string) (*root, string, error) {
	first, rest, _ := strings.Cut(dir, "/")
	r, ok := c.byName[first]
	if !ok || !r.writable {
		var names []string
		for _, r := range c.roots {
			if r.writable {
				names = append(names, r.name)
			}
		}
		slices.Sort(names)
		why := fmt.Sprintf("is not writable: it must be inside one of %s", strings.Join(names, ", "))
		if len(names) == 0 {
			why = "is not writable: no root accepts uploads"
		}
		return nil, "", domain.Invalid(domain.FieldUploadDirectory, why)
	}
	if rest == "" {
		rest = "."
	}
	return r, rest, nil
}

// checkTarget refuses symlinks anywhere on the way to the target, existing
// non-directories where a directory is needed, and existing targets unless
// overwriting a regular file. Refusing every symlink, even harmless ones,
// keeps the rule simple enough to be obviously safe.
func checkTarget(fsys *os.Root, dir, relDir, relFile, catalogPath string, overwrite bool) error {
	var p string
	if relDir != "." {
		for _, el := range strings.Split(relDir, "/") {
			p = path.Join(p, el)
			fi, err := fsys.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the rest is new and will be created
			}
			if err != nil {
				return fmt.Errorf("catalog: inspect %s: %w", dir, err)
			}
			shown := strings.SplitN(dir, "/", 2)[0] + "/" + p
			if fi.Mode()&fs.ModeSymlink != 0 {
				return domain.Invalid(domain.FieldUploadDirectory, fmt.Sprintf("must not contain symbolic links, but %s is one", shown))
			}
			if !fi.IsDir() {
				return domain.Invalid(domain.FieldUploadDirectory, fmt.Sprintf("cannot be created: %s exists and is not a directory", shown))
			}
		}
	}
	fi, err := fsys.Lstat(relFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("catalog: inspect %s: %w", catalogPath, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return domain.Invalid(domain.FieldUploadFile, fmt.Sprintf("cannot replace %s: it is a symbolic link", catalogPath))
	case !fi.Mode().IsRegular():
		return domain.Errorf(domain.ECONFLICT, "%s already exists and is not a regular file; it cannot be replaced", catalogPath)
	case !overwrite:
		return conflict(catalogPath)
	}
	return nil
}

func conflict(catalogPath string) error {
	return domain.Errorf(domain.ECONFLICT, "%s already exists; set overwrite=true to replace it", catalogPath)
}

// readContent reads at most one byte more than the limit, which is enough to
// tell a too-large file without buffering it, and checks the encoding.
func (c *Catalog) readContent(r io.Reader) ([]byte, error) {
	content, err := io.ReadAll(io.LimitReader(r, c.maxUpload+1))
	if err != nil {
		return nil, fmt.Errorf("catalog: read upload: %w", err)
	}
	if int64(len(content)) > c.maxUpload {
		return nil, domain.TooLarge(domain.FieldUploadFile, c.maxUpload)
	}
	if i := bytes.IndexByte(content, 0); i >= 0 {
		return nil, domain.Invalid(domain.FieldUploadFile, fmt.Sprintf("contains a NUL byte at offset %d", i))
	}
	if !utf8.Valid(content) {
		return nil, domain.Invalid(domain.FieldUploadFile, "is not valid UTF-8 text")
	}
	return content, nil
}

// checkSyntax compiles content with the configured Python. The content goes
// through stdin so no unchecked file ever exists inside the test tree.
func (c *Catalog) checkSyntax(ctx context.Context, content []byte) error {
	if c.python == "" {
		return errors.New("catalog: no Python interpreter configured for upload syntax checks")
	}
	select {
	case c.checks <- struct{}{}:
		defer func() { <-c.checks }()
	case <-ctx.Done():
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, syntaxCheckTimeout)
	defer cancel()
	// -I ignores PYTHON* variables and keeps the working directory off
	// sys.path, -S skips site: nothing around the process can change what
	// "compile" means.
	cmd := exec.CommandContext(ctx, c.python, "-I", "-S", "-c", syntaxCheckScript)
	cmd.Stdin = bytes.NewReader(content)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("catalog: syntax check with %s: %w", c.python, ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == syntaxCheckExit && stdout.Len() > 0 {
		return domain.Invalid(domain.FieldUploadFile, "is not valid Python: "+strings.ToValidUTF8(stdout.String(), "?"))
	}
	return fmt.Errorf("catalog: syntax check with %s: %w: %s", c.python, err, truncate(stderr.String(), 500))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// store writes content to a hidden temporary file next to the target and
// then moves it into place, so readers only ever see a complete file. All
// access goes through fsys, which cannot leave the root even if a symlink
// appears after checkTarget looked.
func store(fsys *os.Root, rootReal, relDir, relFile, catalogPath string, content []byte, overwrite bool) (fs.FileInfo, error) {
	if err := fsys.MkdirAll(relDir, 0o755); err != nil {
		return nil, fmt.Errorf("catalog: create directory for %s: %w", catalogPath, err)
	}
	// Independent of os.Root: the directory must be exactly where its name
	// says, which also proves no symlink slipped in after checkTarget.
	want := filepath.Join(rootReal, filepath.FromSlash(relDir))
	if resolved, err := filepath.EvalSymlinks(want); err != nil {
		return nil, fmt.Errorf("catalog: resolve directory for %s: %w", catalogPath, err)
	} else if resolved != want {
		return nil, domain.Invalid(domain.FieldUploadDirectory, "must not contain symbolic links")
	}

	tmp := path.Join(relDir, tempName())
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("catalog: create temporary file for %s: %w", catalogPath, err)
	}
	// After a rename tmp is gone and this fails harmlessly; after a link or any
	// error it removes the only other name of the data.
	defer func() { _ = fsys.Remove(tmp) }()
	fi, err := writeFile(f, content)
	if err != nil {
		return nil, fmt.Errorf("catalog: write %s: %w", catalogPath, err)
	}
	if overwrite {
		err = fsys.Rename(tmp, relFile)
	} else {
		// Link, unlike Rename, fails if the target exists, so of several uploads
		// racing for one new name exactly one wins.
		err = fsys.Link(tmp, relFile)
		if errors.Is(err, fs.ErrExist) {
			return nil, conflict(catalogPath)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: move %s into place: %w", catalogPath, err)
	}
	syncDir(fsys, relDir)
	return fi, nil
}

// writeFile writes, flushes and closes f and returns its final info.
func writeFile(f *os.File, content []byte) (fs.FileInfo, error) {
	_, err := f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		// Explicit because the create mode is filtered through the umask.
		err = f.Chmod(0o644)
	}
	var fi fs.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	return fi, errors.Join(err, f.Close())
}

// syncDir makes the new directory entry durable. Its error is dropped: the
// file is already visible, and reporting failure would make the client think
// nothing was stored.
func syncDir(fsys *os.Root, relDir string) {
	if d, err := fsys.Open(relDir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// tempName returns a hidden name, so neither Scan nor pytest ever picks up a
// file that is still being written.
func tempName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return ".upload-" + hex.EncodeToString(b[:]) + ".tmp"
}

// pythonFilesFor returns the python_files patterns of the project an upload
// into dir would land in (pytest's defaults when dir is not a valid writable
// place yet: that is reported on its own).
func (c *Catalog) pythonFilesFor(dir string) []string {
	if checkDirectory(dir) != "" {
		return project.DefaultPythonFiles
	}
	r, relDir, err := c.writableRoot(dir)
	if err != nil {
		return project.DefaultPythonFiles
	}
	file := filepath.Join(r.real, filepath.FromSlash(relDir), "upload.py")
	return c.finder.Find(r.real, file).Config.PythonFiles()
}
