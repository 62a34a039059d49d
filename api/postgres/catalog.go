package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/baton-ci/baton/api/domain"
)

type testFileRow struct {
	Path       string `gorm:"primaryKey"`
	Directory  string
	SizeBytes  int64
	ModifiedAt time.Time
}

// TableName tells GORM the table.
func (testFileRow) TableName() string { return "test_files" }

type testDirectoryRow struct {
	Path      string `gorm:"primaryKey"`
	Writable  bool
	FileCount int
}

// TableName tells GORM the table.
func (testDirectoryRow) TableName() string { return "test_directories" }

// ReplaceCatalog makes the stored catalog equal to files and dirs, as read
// from disk: new entries are added, changed ones updated, vanished ones removed.
func (s *Store) ReplaceCatalog(ctx context.Context, files []domain.TestFile, dirs []domain.TestDirectory) error {
	return wrapDBError(s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fileRows := make([]testFileRow, len(files))
		paths := make([]string, len(files))
		for i, f := range files {
			fileRows[i] = testFileRow{Path: f.Path, Directory: f.Directory, SizeBytes: f.SizeBytes, ModifiedAt: f.ModifiedAt.UTC()}
			paths[i] = f.Path
		}
		dirRows := make([]testDirectoryRow, len(dirs))
		dirPaths := make([]string, len(dirs))
		for i, d := range dirs {
			dirRows[i] = testDirectoryRow{Path: d.Path, Writable: d.Writable, FileCount: d.FileCount}
			dirPaths[i] = d.Path
		}
		if err := deleteExcept(tx, "test_files", paths); err != nil {
			return err
		}
		if err := deleteExcept(tx, "test_directories", dirPaths); err != nil {
			return err
		}
		upsert := clause.OnConflict{UpdateAll: true}
		if len(fileRows) > 0 {
			if err := tx.Clauses(upsert).CreateInBatches(fileRows, 500).Error; err != nil {
				return err
			}
		}
		if len(dirRows) > 0 {
			if err := tx.Clauses(upsert).CreateInBatches(dirRows, 500).Error; err != nil {
				return err
			}
		}
		return nil
	}))
}

func deleteExcept(tx *gorm.DB, table string, keep []string) error {
	if len(keep) == 0 {
		return tx.Exec("DELETE FROM " + table).Error
	}
	return tx.Exec("DELETE FROM "+table+" WHERE path NOT IN ?", keep).Error
}

// ListTestFiles returns the catalog's test files sorted by path.
func (s *Store) ListTestFiles(ctx context.Context) ([]domain.TestFile, error) {
	var rows []testFileRow
	if err := s.db.Gorm.WithContext(ctx).Order("path COLLATE \"C\"").Find(&rows).Error; err != nil {
		return nil, wrapDBError(err)
	}
	out := make([]domain.TestFile, len(rows))
	for i, r := range rows {
		out[i] = domain.TestFile{Path: r.Path, Directory: r.Directory, SizeBytes: r.SizeBytes, ModifiedAt: r.ModifiedAt.UTC()}
	}
	return out, nil
}

// ListTestDirectories returns the catalog's directories sorted by path.
func (s *Store) ListTestDirectories(ctx context.Context) ([]domain.TestDirectory, error) {
	var rows []testDirectoryRow
	if err := s.db.Gorm.WithContext(ctx).Order("path COLLATE \"C\"").Find(&rows).Error; err != nil {
		return nil, wrapDBError(err)
	}
	out := make([]domain.TestDirectory, len(rows))
	for i, r := range rows {
		out[i] = domain.TestDirectory{Path: r.Path, Writable: r.Writable, FileCount: r.FileCount}
	}
	return out, nil
}
