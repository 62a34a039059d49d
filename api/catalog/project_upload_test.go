package catalog

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

// zipEntry and tarEntry describe archive members for the corpus.
type zipEntry struct {
	name    string
	content string
	mode    fs.FileMode // 0: a regular file
	method  uint16
	flags   uint16
}

func makeZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: e.method, Flags: e.flags, Modified: time.Unix(1e9, 0)}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = w.Write([]byte(e.content))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

type tarEntry struct {
	name     string
	content  string
	typeflag byte
	link     string
	pax      map[string]string // the records of a pax global header
}

func makeTarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		tf := e.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: tf, Linkname: e.link, Mode: 0o644, ModTime: time.Unix(1e9, 0)}
		if tf == tar.TypeXGlobalHeader {
			h = &tar.Header{Typeflag: tf, PAXRecords: e.pax}
		}
		if tf == tar.TypeReg {
			h.Size = int64(len(e.content))
		}
		require.NoError(t, tw.WriteHeader(h))
		if tf == tar.TypeReg {
			_, err := tw.Write([]byte(e.content))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

var goodProject = []domain.ProjectFile{
	{Path: "pytest.ini", Content: []byte("[pytest]\naddopts = -ra\n")},
	{Path: "conftest.py", Content: []byte("import pytest\n")},
	{Path: "shopkit/__init__.py", Content: []byte("")},
	{Path: "tests/test_cart.py", Content: []byte(validPython)},
	{Path: "tests/data/prices.json", Content: []byte("{\"a\": 1}\x00binary ok")},
}

func TestUploadProjectStoresItWhole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	got, err := f.cat.UploadProject(context.Background(), domain.ProjectUpload{Directory: "uploads/teams/shop", Files: goodProject})
	require.NoError(t, err)
	require.Equal(t, "uploads/teams/shop", got.Directory)
	require.Equal(t, 5, got.Files)
	require.Len(t, got.TestFiles, 1)
	require.Equal(t, "uploads/teams/shop/tests/test_cart.py", got.TestFiles[0].Path)
	snap := testkit.Tree(t, f.path("uploads"))
	require.Equal(t, "file -rw-r--r-- "+validPython, snap["teams/shop/tests/test_cart.py"])
	require.Equal(t, "file -rw-r--r-- {\"a\": 1}\x00binary ok", snap["teams/shop/tests/data/prices.json"])
	for p := range snap {
		require.NotContains(t, p, ".upload-", "no staging directory is left behind")
	}

	// Again: 409, unchanged. With overwrite: swapped whole.
	before := testkit.Tree(t, f.base)
	_, err = f.cat.UploadProject(context.Background(), domain.ProjectUpload{Directory: "uploads/teams/shop", Files: goodProject})
	requireDomainError(t, err, domain.ECONFLICT, "", "already exists")
	require.Equal(t, before, testkit.Tree(t, f.base))
	_, err = f.cat.UploadProject(context.Background(), domain.ProjectUpload{Directory: "uploads/teams/shop", Overwrite: true,
		Files: []domain.ProjectFile{{Path: "tests/test_new.py", Content: []byte(validPython)}}})
	require.NoError(t, err)
	snap = testkit.Tree(t, f.path("uploads/teams/shop"))
	require.Equal(t, map[string]string{".": "dir drwxr-xr-x", "tests": "dir drwxr-xr-x",
		"tests/test_new.py": "file -rw-r--r-- " + validPython}, snap, "the old project is gone, the new one whole")
	for p := range testkit.Tree(t, f.path("uploads/teams")) {
		require.NotContains(t, p, ".upload-")
	}
}

// TestUploadProjectAttackCorpus: every bad project and every archive attack
// gets a clear 4xx naming the field, and the file system is unchanged.
func TestUploadProjectAttackCorpus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t), MaxProjectFiles: 10, MaxProjectBytes: 4096, MaxUploadBytes: 2048})
	populate(t, f)
	ok := zipEntry{name: "tests/test_ok.py", content: validPython}
	big := strings.Repeat("a", 3000)
	bomb := strings.Repeat("\x00", 1<<20) // 1 MiB of zeros compresses to ~1 KiB

	files := func(pf ...domain.ProjectFile) []domain.ProjectFile { return pf }
	pyFile := func(p string) domain.ProjectFile { return domain.ProjectFile{Path: p, Content: []byte(validPython)} }
	cases := []struct {
		name    string
		dir     string
		files   []domain.ProjectFile
		archive []byte
		code    domain.ErrorCode
		field   string
		want    string
	}{
		// paths inside the project
		{name: "dotdot", files: files(pyFile("../test_x.py")), code: domain.EINVALID, field: FieldFiles, want: `".."`},
		{name: "dotdot inside", files: files(pyFile("tests/../../../outside/test_x.py")), code: domain.EINVALID, field: FieldFiles, want: `".."`},
		{name: "absolute", files: files(pyFile("/etc/test_x.py")), code: domain.EINVALID, field: FieldFiles, want: "absolute"},
		{name: "backslash", files: files(pyFile(`..\test_x.py`)), code: domain.EINVALID, field: FieldFiles, want: `"\"`},
		{name: "empty element", files: files(pyFile("tests//test_x.py")), code: domain.EINVALID, field: FieldFiles, want: "empty"},
		{name: "dot element", files: files(pyFile("./test_x.py")), code: domain.EINVALID, field: FieldFiles, want: "empty"},
		{name: "NUL in path", files: files(pyFile("test_\x00x.py")), code: domain.EINVALID, field: FieldFiles, want: "control characters"},
		{name: "invalid UTF-8 path", files: files(pyFile("test_\xffx.py")), code: domain.EINVALID, field: FieldFiles, want: "UTF-8"},
		{name: "pycache", files: files(pyFile("__pycache__/x.py")), code: domain.EINVALID, field: FieldFiles, want: "compiled"},
		{name: "pyc", files: files(domain.ProjectFile{Path: "x.pyc", Content: []byte{1}}), code: domain.EINVALID, field: FieldFiles, want: "compiled"},
		{name: "reserved staging name", files: files(pyFile(".upload-x/test_a.py")), code: domain.EINVALID, field: FieldFiles, want: "reserved"},
		{name: "duplicate", files: files(pyFile("test_a.py"), pyFile("test_a.py")), code: domain.EINVALID, field: FieldFiles, want: "more than once"},
		{name: "file and folder", files: files(pyFile("tests"), pyFile("tests/test_a.py")), code: domain.EINVALID, field: FieldFiles, want: "both as a file and as a folder"},
		{name: "no files", files: files(), code: domain.EINVALID, field: FieldFiles, want: "required"},
		{name: "syntax error", files: files(pyFile("test_a.py"), domain.ProjectFile{Path: "pkg/helper.py", Content: []byte("def broken(:\n")}),
			code: domain.EINVALID, field: FieldFiles, want: "pkg/helper.py is not valid Python: line 1"},
		{name: "NUL in .py", files: files(domain.ProjectFile{Path: "conftest.py", Content: []byte("x = 1\x00")}), code: domain.EINVALID, field: FieldFiles, want: "NUL"},
		{name: "latin-1 .py", files: files(domain.ProjectFile{Path: "conftest.py", Content: []byte("x = '\xe9'\n")}), code: domain.EINVALID, field: FieldFiles, want: "UTF-8"},
		{name: "too many files", files: files(pyFile("a1.py"), pyFile("a2.py"), pyFile("a3.py"), pyFile("a4.py"), pyFile("a5.py"), pyFile("a6.py"),
			pyFile("a7.py"), pyFile("a8.py"), pyFile("a9.py"), pyFile("a10.py"), pyFile("a11.py")), code: domain.ETOOLARGE, field: FieldFiles, want: "at most 10 files"},
		{name: "file too large", files: files(domain.ProjectFile{Path: "data.txt", Content: []byte(big)}), code: domain.ETOOLARGE, field: FieldFiles, want: "at most 2048 bytes"},
		{name: "project too large", files: files(domain.ProjectFile{Path: "a.txt", Content: []byte(big[:2000])}, domain.ProjectFile{Path: "b.txt", Content: []byte(big[:2000])},
			domain.ProjectFile{Path: "c.txt", Content: []byte(big[:2000])}), code: domain.ETOOLARGE, field: FieldFiles, want: "at most 4096 bytes in all"},
		// the target
		{name: "target exists", dir: "uploads/existing", files: files(pyFile("test_a.py")), code: domain.ECONFLICT, want: "already exists"},
		{name: "target is a file", dir: "uploads/afile", files: files(pyFile("test_a.py")), code: domain.EINVALID, field: domain.FieldUploadDirectory, want: "not a directory"},
		{name: "target through symlink", dir: "uploads/outlink/new", files: files(pyFile("test_a.py")), code: domain.EINVALID, field: domain.FieldUploadDirectory, want: "symbolic links"},
		{name: "target is a symlink", dir: "uploads/inlink", files: files(pyFile("test_a.py")), code: domain.EINVALID, field: domain.FieldUploadDirectory, want: "symbolic links"},
		{name: "target a root", dir: "uploads", files: files(pyFile("test_a.py")), code: domain.EINVALID, field: domain.FieldUploadDirectory, want: "not the root itself"},
		{name: "target read-only", dir: "vendor/shop", files: files(pyFile("test_a.py")), code: domain.EINVALID, field: domain.FieldUploadDirectory, want: "not writable"},
		{name: "target dotdot", dir: "uploads/../outside", files: files(pyFile("test_a.py")), code: domain.EINVALID, field: domain.FieldUploadDirectory, want: `".."`},
		// archives
		{name: "not an archive", archive: []byte("hello"), code: domain.EINVALID, field: FieldArchive, want: ".zip or a .tar.gz"},
		{name: "truncated zip", archive: makeZip(t, ok)[:40], code: domain.EINVALID, field: FieldArchive, want: "zip"},
		{name: "zip slip", archive: makeZip(t, ok, zipEntry{name: "../../outside/test_evil.py", content: validPython}), code: domain.EINVALID, field: FieldArchive, want: `".."`},
		{name: "zip absolute", archive: makeZip(t, zipEntry{name: "/tmp/test_evil.py", content: validPython}), code: domain.EINVALID, field: FieldArchive, want: "absolute"},
		{name: "zip backslash slip", archive: makeZip(t, zipEntry{name: `..\..\test_evil.py`, content: validPython}), code: domain.EINVALID, field: FieldArchive, want: `"\"`},
		{name: "zip symlink", archive: makeZip(t, ok, zipEntry{name: "tests/link", content: "/etc/passwd", mode: fs.ModeSymlink | 0o777}), code: domain.EINVALID, field: FieldArchive, want: "symbolic link"},
		{name: "zip device", archive: makeZip(t, zipEntry{name: "dev", mode: fs.ModeDevice | 0o644}), code: domain.EINVALID, field: FieldArchive, want: "not a regular file"},
		{name: "zip fifo", archive: makeZip(t, zipEntry{name: "fifo", mode: fs.ModeNamedPipe | 0o644}), code: domain.EINVALID, field: FieldArchive, want: "not a regular file"},
		{name: "zip encrypted", archive: makeZip(t, zipEntry{name: "tests/test_x.py", content: "x", flags: 0x1}), code: domain.EINVALID, field: FieldArchive, want: "encrypted"},
		{name: "zip duplicate", archive: makeZip(t, ok, ok), code: domain.EINVALID, field: FieldFiles, want: "more than once"},
		{name: "zip bomb", archive: makeZip(t, ok, zipEntry{name: "data/zeros.bin", content: bomb, method: zip.Deflate}), code: domain.ETOOLARGE, field: FieldArchive, want: "above 2048 bytes"},
		{name: "zip too many entries", archive: makeZip(t, manyZip(11)...), code: domain.ETOOLARGE, field: FieldArchive, want: "at most 10 entries"},
		{name: "zip pycache", archive: makeZip(t, ok, zipEntry{name: "tests/__pycache__/test_ok.cpython-311.pyc", content: "x"}), code: domain.EINVALID, field: FieldArchive, want: "compiled"},
		{name: "zip syntax error", archive: makeZip(t, zipEntry{name: "tests/test_bad.py", content: "def x(:\n"}), code: domain.EINVALID, field: FieldFiles, want: "is not valid Python"},
		{name: "tar slip", archive: makeTarGz(t, tarEntry{name: "../test_evil.py", content: validPython}), code: domain.EINVALID, field: FieldArchive, want: `".."`},
		{name: "tar absolute", archive: makeTarGz(t, tarEntry{name: "/etc/cron.d/test_evil.py", content: validPython}), code: domain.EINVALID, field: FieldArchive, want: "absolute"},
		{name: "tar symlink", archive: makeTarGz(t, tarEntry{name: "tests/link", typeflag: tar.TypeSymlink, link: "/etc"}), code: domain.EINVALID, field: FieldArchive, want: "links are not accepted"},
		{name: "tar symlink then write through it", archive: makeTarGz(t, tarEntry{name: "x", typeflag: tar.TypeSymlink, link: "../outside"},
			tarEntry{name: "x/test_evil.py", content: validPython}), code: domain.EINVALID, field: FieldArchive, want: "links are not accepted"},
		{name: "tar hard link", archive: makeTarGz(t, tarEntry{name: "h", typeflag: tar.TypeLink, link: "/etc/passwd"}), code: domain.EINVALID, field: FieldArchive, want: "links are not accepted"},
		{name: "tar char device", archive: makeTarGz(t, tarEntry{name: "null", typeflag: tar.TypeChar}), code: domain.EINVALID, field: FieldArchive, want: "device"},
		{name: "tar block device", archive: makeTarGz(t, tarEntry{name: "sda", typeflag: tar.TypeBlock}), code: domain.EINVALID, field: FieldArchive, want: "device"},
		{name: "tar fifo", archive: makeTarGz(t, tarEntry{name: "p", typeflag: tar.TypeFifo}), code: domain.EINVALID, field: FieldArchive, want: "FIFO"},
		{name: "tar duplicate", archive: makeTarGz(t, tarEntry{name: "test_a.py", content: validPython}, tarEntry{name: "./test_a.py", content: validPython}),
			code: domain.EINVALID, field: FieldFiles, want: "more than once"},
		{name: "tar too large", archive: makeTarGz(t, tarEntry{name: "a.bin", content: big[:2000]}, tarEntry{name: "b.bin", content: big[:2000]}, tarEntry{name: "c.bin", content: big[:2000]}),
			code: domain.ETOOLARGE, field: FieldArchive, want: "at most 4096 bytes"},
		{name: "gzip bomb", archive: makeTarGz(t, tarEntry{name: "zeros.bin", content: bomb}), code: domain.ETOOLARGE, field: FieldArchive, want: "above 2048 bytes"},
		{name: "tar too many entries", archive: makeTarGz(t, manyTar(11)...), code: domain.ETOOLARGE, field: FieldArchive, want: "at most 10 entries"},
		{name: "tar of global headers", archive: makeTarGz(t, append(slices.Repeat([]tarEntry{{name: "g", typeflag: tar.TypeXGlobalHeader,
			pax: map[string]string{"comment": "x"}}}, 10), tarEntry{name: "test_a.py", content: validPython})...),
			code: domain.ETOOLARGE, field: FieldArchive, want: "at most 10 entries"},
		{name: "tar global header too large", archive: makeTarGz(t, tarEntry{name: "g", typeflag: tar.TypeXGlobalHeader,
			pax: map[string]string{"comment": big + big}}, tarEntry{name: "test_a.py", content: validPython}),
			code: domain.ETOOLARGE, field: FieldArchive, want: "at most 4096 bytes"},
		{name: "corrupt gzip", archive: append([]byte{0x1f, 0x8b}, []byte("garbage")...), code: domain.EINVALID, field: FieldArchive, want: "gzip"},
		{name: "gzip of not a tar", archive: gzipOf(t, "just text, not a tar"), code: domain.EINVALID, field: FieldArchive, want: "tar"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testkit.Tree(t, f.base)
			dir := tc.dir
			if dir == "" {
				dir = "uploads/new-project"
			}
			fs := tc.files
			var err error
			if tc.archive != nil {
				fs, err = f.cat.ReadArchive(tc.archive)
			}
			if err == nil {
				_, err = f.cat.UploadProject(context.Background(), domain.ProjectUpload{Directory: dir, Files: fs})
			}
			requireDomainError(t, err, tc.code, tc.field, tc.want)
			require.Equal(t, before, testkit.Tree(t, f.base), "a refused upload must change nothing")
		})
	}
}

func TestReadArchiveAcceptsCommonLayouts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	z := makeZip(t, zipEntry{name: "tests/", mode: fs.ModeDir | 0o755}, zipEntry{name: "tests/test_a.py", content: validPython, method: zip.Deflate},
		zipEntry{name: "pytest.ini", content: "[pytest]\n"})
	got, err := f.cat.ReadArchive(z)
	require.NoError(t, err)
	require.Equal(t, []domain.ProjectFile{{Path: "tests/test_a.py", Content: []byte(validPython)}, {Path: "pytest.ini", Content: []byte("[pytest]\n")}}, got)

	// tar -C dir -czf x.tgz . writes "./" first and "./"-prefixed names.
	tgz := makeTarGz(t, tarEntry{name: "./", typeflag: tar.TypeDir}, tarEntry{name: "./tests/", typeflag: tar.TypeDir},
		tarEntry{name: "./tests/test_a.py", content: validPython})
	got, err = f.cat.ReadArchive(tgz)
	require.NoError(t, err)
	require.Equal(t, []domain.ProjectFile{{Path: "tests/test_a.py", Content: []byte(validPython)}}, got)

	// git archive --format=tar.gz starts with a pax global header (the
	// commit id), metadata and no file; '7' (contiguous) is a regular file.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "2b8e3d0c6f0a4c1b9a7e5d3c1b0a9f8e7d6c5b4a"}}))
	for _, h := range []*tar.Header{{Typeflag: tar.TypeDir, Name: "tests/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: "tests/test_a.py", Mode: 0o644, Size: int64(len(validPython))},
		{Typeflag: tar.TypeCont, Name: "tests/test_b.py", Mode: 0o644, Size: int64(len(validPython))}} {
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(validPython))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	got, err = f.cat.ReadArchive(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, []domain.ProjectFile{{Path: "tests/test_a.py", Content: []byte(validPython)},
		{Path: "tests/test_b.py", Content: []byte(validPython)}}, got)
}

func manyZip(n int) []zipEntry {
	out := make([]zipEntry, n)
	for i := range out {
		out[i] = zipEntry{name: "f" + strings.Repeat("x", i) + ".txt", content: "x"}
	}
	return out
}

func manyTar(n int) []tarEntry {
	out := make([]tarEntry, n)
	for i := range out {
		out[i] = tarEntry{name: "f" + strings.Repeat("x", i) + ".txt", content: "x"}
	}
	return out
}

func gzipOf(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	_, err := gz.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// What a crashed upload left behind (a hidden staging folder or temp file)
// is swept once it is old, never while an upload may still be using it.
func TestSweepStagingRemovesOnlyAbandonedUploads(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	old := time.Now().Add(-2 * StaleUploadAge)
	mkfile(t, f.path("uploads/teams/.upload-dead.tmp/tests/test_a.py"), validPython)
	mkfile(t, f.path("uploads/.upload-deadfile.tmp"), "x")
	mkfile(t, f.path("uploads/teams/.upload-live.tmp/test_b.py"), validPython)
	mkfile(t, f.path("uploads/teams/keep/test_c.py"), validPython)
	mkfile(t, f.path("vendor/.upload-readonly.tmp"), "x")
	for _, p := range []string{"uploads/teams/.upload-dead.tmp", "uploads/.upload-deadfile.tmp", "vendor/.upload-readonly.tmp"} {
		require.NoError(t, os.Chtimes(f.path(p), old, old))
	}
	removed, err := f.cat.SweepStaging(StaleUploadAge)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{f.path("uploads/teams/.upload-dead.tmp"), f.path("uploads/.upload-deadfile.tmp")}, removed)
	require.NoDirExists(t, f.path("uploads/teams/.upload-dead.tmp"))
	require.DirExists(t, f.path("uploads/teams/.upload-live.tmp"), "a fresh one may be an upload in progress")
	require.FileExists(t, f.path("uploads/teams/keep/test_c.py"))
	require.FileExists(t, f.path("vendor/.upload-readonly.tmp"), "read-only roots are never written")
}
