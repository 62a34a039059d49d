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
