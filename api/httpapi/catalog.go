package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
)

func (s *Server) listTestFiles(c echo.Context) error {
	files, err := s.svc.Catalog.ListTestFiles(c.Request().Context())
	if err != nil {
		return err
	}
	out := itemsJSON[testFileJSON]{Items: make([]testFileJSON, len(files))}
	for i, f := range files {
		out.Items[i] = toTestFileJSON(f)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listTestDirectories(c echo.Context) error {
	dirs, err := s.svc.Catalog.ListTestDirectories(c.Request().Context())
	if err != nil {
		return err
	}
	out := itemsJSON[testDirectoryJSON]{Items: make([]testDirectoryJSON, len(dirs))}
	for i, d := range dirs {
		out.Items[i] = testDirectoryJSON{Path: d.Path, Writable: d.Writable, FileCount: d.FileCount}
	}
	return c.JSON(http.StatusOK, out)
}

// multipartOverhead is what a form may carry besides the file: boundaries,
// headers and the small text fields.
const multipartOverhead = 64 << 10

// uploadTestFile streams the multipart form. The file part is read through
// a limit of max+1 bytes, so an oversized file is refused while reading and
// never buffered whole.
func (s *Server) uploadTestFile(c echo.Context) error {
	req := c.Request()
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return domain.Errorf(domain.EINVALID, "The body must be multipart/form-data with fields file, directory and overwrite.")
	}
	maxFile := s.svc.Uploader.MaxUploadBytes()
	tooLarge := domain.TooLarge(domain.FieldUploadFile, maxFile)
	body := http.MaxBytesReader(c.Response(), req.Body, maxFile+multipartOverhead)
	mr := multipart.NewReader(body, params["boundary"])

	var (
		u                 domain.Upload
		haveFile, haveDir bool
		overwriteRaw      string
		fe                = domain.FieldErrors{}
	)
	for {
		part, err := mr.NextPart()
		// Only a bare io.EOF is the closing boundary; NextPart wraps io.EOF
		// when the body ends without one, which is a malformed body.
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tooLarge
			}
			return domain.Errorf(domain.EINVALID, "The multipart body is malformed.")
		}
		switch part.FormName() {
		case domain.FieldUploadFile:
			if haveFile {
				fe.Add(domain.FieldUploadFile, "must be given once")
				continue
			}
			haveFile = true
			u.FileName = rawFileName(part)
			if domain.CheckText(u.FileName) != "" {
				fe.Add(domain.FieldUploadFile, "has a file name that "+domain.RuleText)
				continue
			}
			content, err := io.ReadAll(io.LimitReader(part, maxFile+1))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return tooLarge
				}
				return domain.Errorf(domain.EINVALID, "The multipart body is malformed.")
			}
			if int64(len(content)) > maxFile {
				return tooLarge
			}
			u.Content = bytes.NewReader(content)
		case domain.FieldUploadDirectory:
			v, err := readSmallField(part)
			if err != nil {
				return err
			}
			u.Directory, haveDir = v, true
		case domain.FieldUploadOverwrite:
			v, err := readSmallField(part)
			if err != nil {
				return err
			}
			overwriteRaw = v
		default:
			fe.Add(fieldName(part.FormName()), "is not a known field")
		}
	}
	if !haveFile {
		fe.Add(domain.FieldUploadFile, "is required")
	}
	if !haveDir {
		fe.Add(domain.FieldUploadDirectory, "is required")
	}
	if overwriteRaw != "" {
		b, err := strconv.ParseBool(overwriteRaw)
		if err != nil || (overwriteRaw != "true" && overwriteRaw != "false") {
			fe.Add(domain.FieldUploadOverwrite, "must be true or false")
		}
		u.Overwrite = b
	}
	if err := fe.Err(); err != nil {
		return err
	}
	f, err := s.svc.Uploader.Upload(req.Context(), u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toTestFileJSON(f))
}

func readSmallField(part *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, 4<<10+1))
	if err != nil {
		return "", domain.Errorf(domain.EINVALID, "The multipart body is malformed.")
	}
	if len(b) > 4<<10 {
		return "", domain.Invalid(part.FormName(), "is too long")
	}
	if why := domain.CheckText(string(b)); why != "" {
		return "", domain.Invalid(part.FormName(), why)
	}
	return string(b), nil
}

// rawFileName returns the file name exactly as the client sent it.
// Part.FileName strips directories ("../test_x.py" becomes "test_x.py"),
// which would store a file under a name the client did not give; the
// catalog refuses such names instead.
func rawFileName(part *multipart.Part) string {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// uploadTestProject binds POST /api/test-projects: a whole project as
// several "file" parts (each named by its path inside the project) or as
// one "archive" part (.zip or .tar.gz), plus directory and overwrite. The
// body is bounded by the project limits, so nothing larger is buffered;
// the catalog checks the rest and stores the project whole or not at all.
func (s *Server) uploadTestProject(c echo.Context) error {
	req := c.Request()
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return domain.Errorf(domain.EINVALID, "The body must be multipart/form-data with fields directory, overwrite and either file parts or one archive.")
	}
	lim := s.svc.Uploader.ProjectLimits()
	tooLarge := domain.Errorf(domain.ETOOLARGE, "The project is larger than the limit of %d bytes.", lim.MaxBytes)
	// Every part costs headers; a part per file is allowed for.
	body := http.MaxBytesReader(c.Response(), req.Body, lim.MaxBytes+multipartOverhead+int64(lim.MaxFiles)*512)
	mr := multipart.NewReader(body, params["boundary"])
	malformed := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge
		}
		return domain.Errorf(domain.EINVALID, "The multipart body is malformed.")
	}

	var (
		u            domain.ProjectUpload
		archive      []byte
		haveArchive  bool
		haveDir      bool
		overwriteRaw string
		total        int64
		fe           = domain.FieldErrors{}
	)
	for {
		part, err := mr.NextPart()
		// A bare io.EOF is the closing boundary, see uploadTestFile.
		if err == io.EOF { //nolint:errorlint // see above
			break
		}
		if err != nil {
			return malformed(err)
		}
		switch part.FormName() {
		case domain.FieldUploadFile:
			name := rawFileName(part)
			if domain.CheckText(name) != "" {
				fe.Add(domain.FieldUploadFiles, "have a file name that "+domain.RuleText)
				continue
			}
			if len(u.Files) >= lim.MaxFiles {
				return domain.Errorf(domain.ETOOLARGE, "The project has more than %d files.", lim.MaxFiles)
			}
			content, err := io.ReadAll(io.LimitReader(part, lim.MaxFileBytes+1))
			if err != nil {
				return malformed(err)
			}
			if int64(len(content)) > lim.MaxFileBytes {
				return domain.Errorf(domain.ETOOLARGE, "%s is larger than the limit of %d bytes per file.", name, lim.MaxFileBytes)
			}
			if total += int64(len(content)); total > lim.MaxBytes {
				return tooLarge
			}
			u.Files = append(u.Files, domain.ProjectFile{Path: name, Content: content})
		case domain.FieldUploadArchive:
			if haveArchive {
				fe.Add(domain.FieldUploadArchive, "must be given once")
				continue
			}
			haveArchive = true
			archive, err = io.ReadAll(io.LimitReader(part, lim.MaxBytes+1))
			if err != nil {
				return malformed(err)
			}
			if int64(len(archive)) > lim.MaxBytes {
				return tooLarge
			}
		case domain.FieldUploadDirectory:
			v, err := readSmallField(part)
			if err != nil {
				return err
			}
			u.Directory, haveDir = v, true
		case domain.FieldUploadOverwrite:
			v, err := readSmallField(part)
			if err != nil {
				return err
			}
			overwriteRaw = v
		default:
			fe.Add(fieldName(part.FormName()), "is not a known field")
		}
	}
	switch {
	case haveArchive && len(u.Files) > 0:
		fe.Add(domain.FieldUploadArchive, "cannot be combined with file parts: send one or the other")
	case !haveArchive && len(u.Files) == 0:
		fe.Add(domain.FieldUploadFiles, "are required: send file parts (one per file, named by its path) or one archive")
	}
	if !haveDir {
		fe.Add(domain.FieldUploadDirectory, "is required")
	}
	if overwriteRaw != "" {
		b, err := strconv.ParseBool(overwriteRaw)
		if err != nil || (overwriteRaw != "true" && overwriteRaw != "false") {
			fe.Add(domain.FieldUploadOverwrite, "must be true or false")
		}
		u.Overwrite = b
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if haveArchive {
		if u.Files, err = s.svc.Uploader.ReadArchive(archive); err != nil {
			return err
		}
	}
	p, err := s.svc.Uploader.UploadProject(req.Context(), u)
	if err != nil {
		return err
	}
	out := testProjectJSON{Directory: p.Directory, FileCount: p.Files, SizeBytes: p.Bytes, TestFiles: make([]testFileJSON, len(p.TestFiles))}
	for i, f := range p.TestFiles {
		out.TestFiles[i] = toTestFileJSON(f)
	}
	return c.JSON(http.StatusCreated, out)
}
