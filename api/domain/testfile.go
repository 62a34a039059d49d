package domain

import "time"

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
