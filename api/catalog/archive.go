package catalog

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/baton-ci/baton/api/domain"
)

// FieldArchive is the key of errors about an uploaded archive.
const FieldArchive = domain.FieldUploadArchive

// ReadArchive unpacks a project uploaded as one .zip or .tar.gz (told apart
// by their first bytes, not by name) into its files, in memory, refusing
// every archive attack before anything reaches the disk: entries that are
// symbolic or hard links, devices, FIFOs or other special files, encrypted
// entries, paths that are absolute or climb out with "..", more entries
// than MaxProjectFiles, more bytes once unpacked than MaxProjectBytes (or
// one file above MaxUploadBytes), whatever the headers claim, counted while
// reading, so a zip bomb stops at the limit. Duplicates and the path rules
// are UploadProject's (checkProjectFiles); a leading "./" is dropped, as
// `tar -C dir .` writes it.
func (c *Catalog) ReadArchive(data []byte) ([]domain.ProjectFile, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return c.readZip(data)
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return c.readTarGz(data)
	}
	return nil, domain.Invalid(FieldArchive, "must be a .zip or a .tar.gz file")
}

// budget counts what an archive unpacks to against the limits.
type budget struct {
	c       *Catalog
	entries int
	bytes   int64
}

func (b *budget) entry() error {
	b.entries++
	if b.entries > b.c.maxProjectFiles {
		return archiveTooLarge(fmt.Sprintf("must hold at most %d entries", b.c.maxProjectFiles))
	}
	return nil
}

// read reads one entry's content through the remaining budget.
func (b *budget) read(name string, r io.Reader) ([]byte, error) {
	limit := min(b.c.maxUpload, b.c.maxProjectBytes-b.bytes)
	content, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, domain.Invalid(FieldArchive, fmt.Sprintf("is damaged: cannot read %s (%v)", name, err))
	}
	if int64(len(content)) > limit {
		if limit == b.c.maxUpload {
			return nil, archiveTooLarge(fmt.Sprintf("must not hold files above %d bytes, but %s is larger", b.c.maxUpload, name))
		}
		return nil, archiveTooLarge(fmt.Sprintf("must unpack to at most %d bytes", b.c.maxProjectBytes))
	}
	b.bytes += int64(len(content))
	return content, nil
}

// charge counts n bytes that are not a file's content (archive metadata).
func (b *budget) charge(n int64) error {
	if b.bytes += n; b.bytes > b.c.maxProjectBytes {
		return archiveTooLarge(fmt.Sprintf("must unpack to at most %d bytes", b.c.maxProjectBytes))
	}
	return nil
}

func paxSize(records map[string]string) int64 {
	var n int64
	for k, v := range records {
		n += int64(len(k) + len(v))
	}
	return n
}

func archiveTooLarge(why string) error {
	return &domain.Error{Code: domain.ETOOLARGE, Message: "archive " + why + ".", Fields: domain.FieldErrors{FieldArchive: why}}
}

// entryPath cleans an entry name: no leading "./"; ok is false for the
// "./" entry itself, which names the archive's root.
func entryPath(name string, isDir bool) (string, bool, error) {
	p := name
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	if isDir {
		p = strings.TrimSuffix(p, "/")
	}
	if p == "" || p == "." {
		return "", false, nil
	}
	if why := checkProjectPath(p); why != "" {
		return "", false, domain.Invalid(FieldArchive, "entry "+why)
	}
	return p, true, nil
}

func (c *Catalog) readZip(data []byte) ([]domain.ProjectFile, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, domain.Invalid(FieldArchive, "is not a readable zip file: "+err.Error())
	}
	b := &budget{c: c}
	var out []domain.ProjectFile
	for _, f := range zr.File {
		if err := b.entry(); err != nil {
			return nil, err
		}
		mode := f.Mode()
		isDir := mode.IsDir() || strings.HasSuffix(f.Name, "/")
		p, ok, err := entryPath(f.Name, isDir)
		if err != nil {
			return nil, err
		}
		switch {
		case mode&fs.ModeSymlink != 0:
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %s is a symbolic link; links are not accepted", f.Name))
		case !isDir && !mode.IsRegular():
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %s is not a regular file (%s); only files and folders are accepted", f.Name, mode.Type()))
		case f.Flags&0x1 != 0:
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %s is encrypted", f.Name))
		case isDir || !ok:
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("is damaged: cannot open %s (%v)", f.Name, err))
		}
		content, err := b.read(f.Name, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, domain.ProjectFile{Path: p, Content: content})
	}
	return out, nil
}

func (c *Catalog) readTarGz(data []byte) ([]domain.ProjectFile, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, domain.Invalid(FieldArchive, "is not a readable gzip file: "+err.Error())
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	b := &budget{c: c}
	var out []domain.ProjectFile
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, domain.Invalid(FieldArchive, "is not a readable tar.gz file: "+err.Error())
		}
		if err := b.entry(); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			// Metadata for the whole archive, no file: git archive writes
			// one with the commit id. archive/tar hands it over as an
			// entry; its records count against the size limit, so a
			// stream of them cannot keep the server unpacking.
			if err := b.charge(paxSize(h.PAXRecords)); err != nil {
				return nil, err
			}
			continue
		}
		switch h.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %s is a link (to %s); links are not accepted", h.Name, h.Linkname))
		case tar.TypeChar, tar.TypeBlock:
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %s is a device file; only files and folders are accepted", h.Name))
		case tar.TypeFifo:
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %s is a FIFO; only files and folders are accepted", h.Name))
		case tar.TypeDir:
			if _, _, err := entryPath(h.Name, true); err != nil {
				return nil, err
			}
			continue
		// TypeRegA: old tars still write it; TypeCont ('7', contiguous) is a
		// regular file to every tar that does not implement it, as here.
		case tar.TypeReg, tar.TypeRegA, tar.TypeCont: //nolint:staticcheck // TypeRegA is deprecated, see above
		default:
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %s has tar type %q; only files and folders are accepted", h.Name, h.Typeflag))
		}
		p, ok, err := entryPath(h.Name, false)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, domain.Invalid(FieldArchive, fmt.Sprintf("entry %q is not a file name", h.Name))
		}
		content, err := b.read(h.Name, tr)
		if err != nil {
			return nil, err
		}
		out = append(out, domain.ProjectFile{Path: p, Content: content})
	}
}
