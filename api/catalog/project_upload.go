package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/baton-ci/baton/api/domain"
)

// Defaults of the project upload limits (Options leaves them 0).
const (
	DefaultMaxProjectFiles       = 2000
	DefaultMaxProjectBytes int64 = 32 << 20
	// MaxProjectPathLen bounds one file's path inside a project, in bytes.
	MaxProjectPathLen = 1024
	// MaxProjectElementLen bounds one element of such a path, in bytes.
	MaxProjectElementLen = 255
)

// FieldFiles is the key of project upload errors about its files.
const FieldFiles = domain.FieldUploadFiles

// ProjectLimits returns the project upload limits.
func (c *Catalog) ProjectLimits() domain.ProjectLimits {
	return domain.ProjectLimits{MaxFiles: c.maxProjectFiles, MaxBytes: c.maxProjectBytes, MaxFileBytes: c.maxUpload}
}

// UploadProject validates a whole project and stores it atomically: every
// file is written into a hidden staging directory next to the target, which
// is then renamed into place, so the project appears whole or not at all.
// Bad input yields a *domain.Error (EINVALID, ECONFLICT, ETOOLARGE) and
// writes nothing.
func (c *Catalog) UploadProject(ctx context.Context, u domain.ProjectUpload) (domain.ProjectStored, error) {
	var none domain.ProjectStored
	if why := checkDirectory(u.Directory); why != "" {
		return none, domain.Invalid(domain.FieldUploadDirectory, why)
	}
	if err := c.checkProjectFiles(u.Files); err != nil {
		return none, err
	}
	r, relDir, err := c.writableRoot(u.Directory)
	if err != nil {
		return none, err
	}
	if relDir == "." {
		return none, domain.Invalid(domain.FieldUploadDirectory, "must be a new folder inside a root, such as "+r.name+"/my-project, not the root itself")
	}
	fsys, err := os.OpenRoot(r.real)
	if err != nil {
		return none, fmt.Errorf("catalog: open root %q: %w", r.name, err)
	}
	defer fsys.Close()
	if err := checkProjectTarget(fsys, u.Directory, relDir, u.Overwrite); err != nil {
		return none, err
	}
	if err := c.checkProjectSyntax(ctx, u.Files); err != nil {
		return none, err
	}
	if err := ctx.Err(); err != nil {
		return none, err
	}
	stored, err := storeProject(fsys, r.real, u.Directory, relDir, u.Files, u.Overwrite)
	if err != nil {
		return none, err
	}
	files, _, err := c.Scan()
	if err == nil {
		for _, f := range files {
			if strings.HasPrefix(f.Path, u.Directory+"/") {
				stored.TestFiles = append(stored.TestFiles, f)
			}
		}
	}
	if stored.TestFiles == nil {
		stored.TestFiles = []domain.TestFile{}
	}
	return stored, nil
}

// checkProjectFiles checks the file list: count and size limits, each path
// (relative, no "..", no empty or hidden-special elements, clean UTF-8),
// duplicates and file/folder clashes, and that .py files are text.
func (c *Catalog) checkProjectFiles(files []domain.ProjectFile) error {
	switch {
	case len(files) == 0:
		return domain.Invalid(FieldFiles, "are required: the project has no files")
	case len(files) > c.maxProjectFiles:
		return tooLarge(fmt.Sprintf("must be at most %d files, got %d", c.maxProjectFiles, len(files)))
	}
	var total int64
	seen := make(map[string]bool, len(files))
	dirs := map[string]bool{}
	for _, f := range files {
		if why := checkProjectPath(f.Path); why != "" {
			return domain.Invalid(FieldFiles, why)
		}
		if seen[f.Path] {
			return domain.Invalid(FieldFiles, fmt.Sprintf("name %s more than once", f.Path))
		}
		seen[f.Path] = true
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		if int64(len(f.Content)) > c.maxUpload {
			return tooLarge(fmt.Sprintf("must each be at most %d bytes, but %s is larger", c.maxUpload, f.Path))
		}
		total += int64(len(f.Content))
		if total > c.maxProjectBytes {
			return tooLarge(fmt.Sprintf("must be at most %d bytes in all", c.maxProjectBytes))
		}
		if strings.HasSuffix(f.Path, ".py") {
			if i := bytes.IndexByte(f.Content, 0); i >= 0 {
				return domain.Invalid(FieldFiles, fmt.Sprintf("%s contains a NUL byte at offset %d", f.Path, i))
			}
			if !utf8.Valid(f.Content) {
				return domain.Invalid(FieldFiles, f.Path+" is not valid UTF-8 text")
			}
		}
	}
	for d := range dirs {
		if seen[d] {
			return domain.Invalid(FieldFiles, fmt.Sprintf("name %s both as a file and as a folder", d))
		}
	}
	return nil
}

func tooLarge(why string) error {
	return &domain.Error{Code: domain.ETOOLARGE, Message: "files " + why + ".", Fields: domain.FieldErrors{FieldFiles: why}}
}

// checkProjectPath returns why p cannot be the path of a file inside a
// project, or "".
func checkProjectPath(p string) string {
	shown := p
	if !utf8.ValidString(shown) || hasControl(shown) {
		shown = strings.ToValidUTF8(strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return '?'
			}
			return r
		}, p), "?")
	}
	switch {
	case p == "":
		return "must each have a path"
	case len(p) > MaxProjectPathLen:
		return fmt.Sprintf("must have paths of at most %d bytes", MaxProjectPathLen)
	case !utf8.ValidString(p):
		return fmt.Sprintf("%q: paths must be valid UTF-8", shown)
	case hasControl(p):
		return fmt.Sprintf("%q: paths must not contain NUL or other control characters", shown)
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q: paths must be relative to the project, not absolute", p)
	case strings.Contains(p, `\`):
		return fmt.Sprintf(`%q: paths must use "/" as separator, not "\"`, p)
	}
	for _, el := range strings.Split(p, "/") {
		switch {
		case el == "" || el == ".":
			return fmt.Sprintf("%q: paths must not contain empty or \".\" elements", p)
		case el == "..":
			return fmt.Sprintf("%q: paths must not contain \"..\"", p)
		case len(el) > MaxProjectElementLen:
			return fmt.Sprintf("%q: path elements must be at most %d bytes", p, MaxProjectElementLen)
		case el == pycache || strings.HasSuffix(el, ".pyc"):
			return fmt.Sprintf("%q: compiled files (__pycache__, .pyc) are not accepted; upload the sources", p)
		case strings.HasPrefix(el, ".upload-"):
			return fmt.Sprintf("%q: names starting with .upload- are reserved", p)
		}
	}
	return ""
}

// checkProjectTarget refuses a target that exists (unless overwriting a
// directory) and symlinks or non-directories on the way to it.
func checkProjectTarget(fsys *os.Root, dir, relDir string, overwrite bool) error {
	var p string
	els := strings.Split(relDir, "/")
	for i, el := range els {
		p = path.Join(p, el)
		fi, err := fsys.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("catalog: inspect %s: %w", dir, err)
		}
		shown := strings.SplitN(dir, "/", 2)[0] + "/" + p
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return domain.Invalid(domain.FieldUploadDirectory, fmt.Sprintf("must not contain symbolic links, but %s is one", shown))
		case !fi.IsDir():
			return domain.Invalid(domain.FieldUploadDirectory, fmt.Sprintf("cannot be created: %s exists and is not a directory", shown))
		case i == len(els)-1 && !overwrite:
			return domain.Errorf(domain.ECONFLICT, "%s already exists; set overwrite=true to replace the whole folder", dir)
		}
	}
	return nil
}

// projectCheckScript compiles every .py file of a project (framed on stdin
// as name NUL, 8-byte big-endian length, content) without running them, and
// reports the first that does not compile.
const projectCheckScript = `import sys, struct
data = sys.stdin.buffer.read()
i = 0
while i < len(data):
    j = data.index(b"\0", i)
    name = data[i:j].decode("utf-8")
    (n,) = struct.unpack(">Q", data[j + 1:j + 9])
    src = data[j + 9:j + 9 + n]
    i = j + 9 + n
    try:
        compile(src, name, "exec", dont_inherit=True)
        continue
    except SyntaxError as e:
        msg = ("line %d: %s" % (e.lineno, e.msg)) if e.lineno else str(e.msg)
    except (RecursionError, MemoryError):
        msg = "too deeply nested to compile"
    except ValueError as e:
        msg = str(e)
    sys.stdout.buffer.write((name + " is not valid Python: " + msg).encode("utf-8", "backslashreplace"))
    sys.exit(3)
`

// checkProjectSyntax compiles the project's .py files in one interpreter.
func (c *Catalog) checkProjectSyntax(ctx context.Context, files []domain.ProjectFile) error {
	var in bytes.Buffer
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".py") {
			continue
		}
		in.WriteString(f.Path)
		in.WriteByte(0)
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f.Content)))
		in.Write(n[:])
		in.Write(f.Content)
	}
	if in.Len() == 0 {
		return nil
	}
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
	cmd := exec.CommandContext(ctx, c.python, "-I", "-S", "-c", projectCheckScript)
	cmd.Stdin = &in
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
		return domain.Invalid(FieldFiles, strings.ToValidUTF8(stdout.String(), "?"))
	}
	return fmt.Errorf("catalog: syntax check with %s: %w: %s", c.python, err, truncate(stderr.String(), 500))
}

// storeProject writes the files into a hidden staging directory next to the
// target and renames it into place: with RENAME_NOREPLACE for a new project
// (of two racing uploads exactly one wins), with RENAME_EXCHANGE when
// overwriting (the old tree is then removed from the staging name).
// Directories created for the target's parents are removed again if the
// rename fails, so a refused upload leaves nothing behind.
func storeProject(fsys *os.Root, rootReal, dir, relDir string, files []domain.ProjectFile, overwrite bool) (domain.ProjectStored, error) {
	parent := path.Dir(relDir)
	created, err := mkdirAllTracked(fsys, parent)
	if err != nil {
		return domain.ProjectStored{}, fmt.Errorf("catalog: create parent of %s: %w", dir, err)
	}
	undoParents := func() {
		for i := len(created) - 1; i >= 0; i-- {
			_ = fsys.Remove(created[i])
		}
	}
	parentAbs := filepath.Join(rootReal, filepath.FromSlash(parent))
	if resolved, err := filepath.EvalSymlinks(parentAbs); err != nil || resolved != parentAbs {
		undoParents()
		if err != nil {
			return domain.ProjectStored{}, fmt.Errorf("catalog: resolve parent of %s: %w", dir, err)
		}
		return domain.ProjectStored{}, domain.Invalid(domain.FieldUploadDirectory, "must not contain symbolic links")
	}
	stage := path.Join(parent, tempName())
	if err := fsys.Mkdir(stage, 0o755); err != nil {
		undoParents()
		return domain.ProjectStored{}, fmt.Errorf("catalog: create staging directory for %s: %w", dir, err)
	}
	cleanStage := func() { _ = os.RemoveAll(filepath.Join(rootReal, filepath.FromSlash(stage))) }
	sorted := append([]domain.ProjectFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var total int64
	for _, f := range sorted {
		p := path.Join(stage, f.Path)
		if err := fsys.MkdirAll(path.Dir(p), 0o755); err != nil {
			cleanStage()
			undoParents()
			return domain.ProjectStored{}, fmt.Errorf("catalog: stage %s/%s: %w", dir, f.Path, err)
		}
		out, err := fsys.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = writeFile(out, f.Content)
		}
		if err != nil {
			cleanStage()
			undoParents()
			return domain.ProjectStored{}, fmt.Errorf("catalog: stage %s/%s: %w", dir, f.Path, err)
		}
		total += int64(len(f.Content))
	}
	stageAbs := filepath.Join(rootReal, filepath.FromSlash(stage))
	targetAbs := filepath.Join(rootReal, filepath.FromSlash(relDir))
	flags := uint(unix.RENAME_NOREPLACE)
	if overwrite {
		if _, err := os.Lstat(targetAbs); err == nil {
			flags = unix.RENAME_EXCHANGE
		}
	}
	if err := unix.Renameat2(unix.AT_FDCWD, stageAbs, unix.AT_FDCWD, targetAbs, flags); err != nil {
		cleanStage()
		undoParents()
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return domain.ProjectStored{}, domain.Errorf(domain.ECONFLICT, "%s already exists; set overwrite=true to replace the whole folder", dir)
		}
		return domain.ProjectStored{}, fmt.Errorf("catalog: move %s into place: %w", dir, err)
	}
	if flags == unix.RENAME_EXCHANGE {
		cleanStage() // the old project, now under the staging name
	}
	syncDir(fsys, parent)
	return domain.ProjectStored{Directory: dir, Files: len(files), Bytes: total}, nil
}

// mkdirAllTracked is MkdirAll that returns the directories it created,
// outermost first.
func mkdirAllTracked(fsys *os.Root, rel string) ([]string, error) {
	if rel == "." {
		return nil, nil
	}
	var created []string
	p := ""
	for _, el := range strings.Split(rel, "/") {
		p = path.Join(p, el)
		err := fsys.Mkdir(p, 0o755)
		switch {
		case err == nil:
			created = append(created, p)
		case errors.Is(err, fs.ErrExist):
		default:
			for i := len(created) - 1; i >= 0; i-- {
				_ = fsys.Remove(created[i])
			}
			return nil, err
		}
	}
	return created, nil
}

// StaleUploadAge is how old a staging entry (".upload-…") must be before
// SweepStaging removes it: an upload stages for seconds, so one this old
// was abandoned by a process that died mid-upload, on this host or another
// sharing the volume.
const StaleUploadAge = time.Hour

// SweepStaging removes the staging files and folders that uploads abandoned
// (a crash between staging and the rename into place) in the writable
// roots, when older than olderThan, and returns what it removed. They are
// hidden, so neither the catalog nor pytest ever saw them; this only gives
// the space back.
func (c *Catalog) SweepStaging(olderThan time.Duration) ([]string, error) {
	var removed []string
	cutoff := time.Now().Add(-olderThan)
	for _, r := range c.roots {
		if !r.writable {
			continue
		}
		err := filepath.WalkDir(r.real, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // vanished or unreadable: nothing to sweep there
			}
			name := d.Name()
			if p != r.real && strings.HasPrefix(name, ".upload-") && d.Type()&fs.ModeSymlink == 0 {
				if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
					if err := os.RemoveAll(p); err == nil {
						removed = append(removed, p)
					}
				}
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() && p != r.real && !listable(name) {
				return fs.SkipDir
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}
