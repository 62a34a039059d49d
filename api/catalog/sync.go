package catalog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// Syncer keeps the stored catalog equal to the files on disk: it rescans
// periodically (so files added or removed by hand show up within an
// interval) and right after every upload (so an upload is listed at once).
//
// It is also the API's domain.Uploader: an upload goes through it so that
// the stored catalog lists the new file before the upload is answered.
type Syncer struct {
	cat   *Catalog
	store domain.CatalogStore
	log   *slog.Logger

	mu        sync.Mutex
	lastFiles []domain.TestFile
	lastDirs  []domain.TestDirectory
	synced    bool
}

var _ domain.Uploader = (*Syncer)(nil)

// NewSyncer returns a Syncer of cat into store.
func NewSyncer(cat *Catalog, store domain.CatalogStore, log *slog.Logger) *Syncer {
	if log == nil {
		log = slog.Default()
	}
	return &Syncer{cat: cat, store: store, log: log}
}

// Sync scans the disk and writes the catalog to the store if it changed
// since the last successful sync of this process.
func (s *Syncer) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	files, dirs, err := s.cat.Scan()
	if err != nil {
		return err
	}
	if s.synced && EqualFiles(files, s.lastFiles) && EqualDirectories(dirs, s.lastDirs) {
		return nil
	}
	if err := s.store.ReplaceCatalog(ctx, files, dirs); err != nil {
		return err
	}
	s.lastFiles, s.lastDirs, s.synced = files, dirs, true
	return nil
}

// sweepEvery is how often Run removes abandoned upload staging.
const sweepEvery = 10 * time.Minute

// Run syncs every interval until ctx ends, and now and then removes what
// crashed uploads left behind (SweepStaging).
func (s *Syncer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var swept time.Time
	for {
		if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("syncing the test catalog failed", "err", err)
		}
		if time.Since(swept) >= sweepEvery {
			swept = time.Now()
			removed, err := s.cat.SweepStaging(StaleUploadAge)
			for _, p := range removed {
				s.log.Info("removed an abandoned upload staging entry", "path", p)
			}
			if err != nil {
				s.log.Warn("sweeping abandoned uploads failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Upload stores an uploaded file and syncs the catalog, so the file can be
// run as soon as the upload is answered.
func (s *Syncer) Upload(ctx context.Context, u Upload) (domain.TestFile, error) {
	f, err := s.cat.Upload(ctx, u)
	if err != nil {
		return f, err
	}
	// The file is stored: failing the request now would make the client's
	// retry a 409. The periodic sync lists it once the database is back.
	if err := s.Sync(ctx); err != nil {
		s.log.Warn("upload stored but catalog sync failed; it will be retried", "path", f.Path, "err", err)
	}
	return f, nil
}

// UploadProject stores an uploaded project and syncs the catalog, so its
// tests can be run as soon as the upload is answered.
func (s *Syncer) UploadProject(ctx context.Context, u domain.ProjectUpload) (domain.ProjectStored, error) {
	p, err := s.cat.UploadProject(ctx, u)
	if err != nil {
		return p, err
	}
	if err := s.Sync(ctx); err != nil {
		s.log.Warn("project stored but catalog sync failed; it will be retried", "directory", p.Directory, "err", err)
	}
	return p, nil
}

// ReadArchive unpacks an uploaded project archive (see Catalog.ReadArchive).
func (s *Syncer) ReadArchive(data []byte) ([]domain.ProjectFile, error) {
	return s.cat.ReadArchive(data)
}

// ProjectLimits returns the project upload limits.
func (s *Syncer) ProjectLimits() domain.ProjectLimits { return s.cat.ProjectLimits() }

// MaxUploadBytes returns the upload size limit.
func (s *Syncer) MaxUploadBytes() int64 { return s.cat.MaxUploadBytes() }
