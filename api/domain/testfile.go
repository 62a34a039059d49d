package domain

import (
	"io"
	"time"
)

// TestFile is a pytest file in the catalog. Path is relative and
// forward-slashed, starting with its root's name (e.g. "sample-tests/test_a.py").
type TestFile struct {
	Path       string
	Directory  string
	SizeBytes  int64
	ModifiedAt time.Time
}

// TestDirectory is a folder of the catalog that can hold test files.
type TestDirectory struct {
	Path      string
	Writable  bool
	FileCount int
}

// LogPage is a slice of a run's log starting at a byte offset.
type LogPage struct {
	Offset     int64
	NextOffset int64
	Text       string
	// Complete is true once the run is final and no text remains after NextOffset.
	Complete bool
}

// Upload is a test file to store in the catalog.
type Upload struct {
	// Directory is the catalog path of the target directory, e.g.
	// "uploads/payments/smoke"; missing directories below a writable root are
	// created.
	Directory string
	// FileName is the base name of the file, e.g. "test_api.py".
	FileName string
	// Content is read up to the size limit plus one byte, never further.
	Content io.Reader
	// Overwrite allows replacing an existing file of the same name.
	Overwrite bool
}

// The names of an upload's fields, as keys of Error.Fields: the API's form
// fields bear the same names, so a client can point at the one to fix.
const (
	// FieldUploadFile is the uploaded file: its name, size or content.
	FieldUploadFile = "file"
	// FieldUploadDirectory is the target directory.
	FieldUploadDirectory = "directory"
	// FieldUploadOverwrite is the flag that allows replacing a file.
	FieldUploadOverwrite = "overwrite"
)

// ProjectFile is one file of an uploaded test project.
type ProjectFile struct {
	// Path is relative to the project directory, "/"-separated, e.g.
	// "tests/conftest.py".
	Path    string
	Content []byte
}

// ProjectUpload is a whole test project to store in the catalog.
type ProjectUpload struct {
	// Directory is the catalog path the project becomes, e.g. "uploads/shop";
	// it must not exist unless Overwrite is set.
	Directory string
	Files     []ProjectFile
	// Overwrite replaces an existing folder there, atomically: readers see
	// the old project or the new one, never a mix.
	Overwrite bool
}

// ProjectStored is what a project upload stored.
type ProjectStored struct {
	Directory string
	// Files counts the files stored, Bytes their total size.
	Files int
	Bytes int64
	// TestFiles are the project's files that pytest would collect, as the
	// catalog lists them.
	TestFiles []TestFile
}

// ProjectLimits bound a project upload.
type ProjectLimits struct {
	// MaxFiles is the most files (archive entries) a project may hold.
	MaxFiles int
	// MaxBytes bounds the project's total size, unpacked.
	MaxBytes int64
	// MaxFileBytes bounds one file.
	MaxFileBytes int64
}

// The names of a project upload's fields besides FieldUploadDirectory and
// FieldUploadOverwrite.
const (
	// FieldUploadFiles are the project's files (several "file" parts).
	FieldUploadFiles = "files"
	// FieldUploadArchive is the project as one .zip or .tar.gz.
	FieldUploadArchive = "archive"
)
