package cli

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/baton-ci/baton/api/client"
)

func (a *app) uploadCmd() *cobra.Command {
	var (
		dir       string
		overwrite bool
	)
	cmd := &cobra.Command{
		Use:   "upload [--dir DIR] FILE... | upload [--dir DIR] FOLDER",
		Short: "upload test files, or a whole test project, into the catalog and print their catalog paths",
		Long: `Upload pytest files (test_*.py or *_test.py) into a catalog directory: an
existing writable one, or a new one under uploads/. Each stored file's catalog
path is printed on its own line, ready for ` + "`baton run`" + `.

Given one FOLDER instead, upload it whole as a test project — its conftest.py,
helper modules, config (pytest.ini, pyproject.toml, ...) and data files, at
their paths — into the new directory DIR (by default uploads/ and the folder's
name); hidden folders (.git, .venv, ...), __pycache__ and *.pyc stay behind.
The test files pytest would collect in it are printed, one per line.`,
		Example: `  baton run --env 7 --wait $(baton upload --dir uploads/ci tests/test_api.py)
  baton run --env 7 --wait $(baton upload --dir uploads/ci/$CI_JOB_ID tests)`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name at least one file, or one folder, to upload")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, paths []string) error {
			if folder, err := isFolder(paths); err != nil || folder {
				if err != nil {
					return err
				}
				if !cmd.Flags().Changed("dir") {
					abs, err := filepath.Abs(paths[0]) // "." is the folder's own name
					if err != nil {
						return usagef("%v", err)
					}
					dir = "uploads/" + filepath.Base(abs)
				}
				return a.uploadProject(cmd, paths[0], dir, overwrite)
			}
			api, err := a.api()
			if err != nil {
				return err
			}
			var stored []*client.TestFile
			for _, p := range paths {
				body, contentType, err := uploadForm(p, dir, overwrite)
				if err != nil {
					return err
				}
				res, err := api.UploadTestFileWithBodyWithResponse(cmd.Context(), contentType, bytes.NewReader(body))
				if err := a.check(res, err, 201); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				if !a.json {
					fmt.Fprintln(cmd.OutOrStdout(), res.JSON201.Path)
				}
				stored = append(stored, res.JSON201)
			}
			if a.json {
				return printJSON(cmd.OutOrStdout(), stored)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&dir, "dir", "d", "uploads", "the catalog directory to upload into (for a folder: the new project's directory, default uploads/FOLDER)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace files of the same name (for a folder: the whole project directory)")
	return cmd
}

// isFolder reports whether paths name one folder (a project upload); a
// folder among other paths is a usage error.
func isFolder(paths []string) (bool, error) {
	folders := 0
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			folders++
		}
	}
	switch {
	case folders == 0:
		return false, nil
	case len(paths) > 1:
		return false, usagef("a folder goes up alone, as one test project: upload %s by itself, or name files only", strings.Join(paths, " "))
	}
	return true, nil
}

// uploadProject uploads folder whole as the test project dir
// (POST /api/test-projects) and prints the test files pytest would collect.
func (a *app) uploadProject(cmd *cobra.Command, folder, dir string, overwrite bool) error {
	api, err := a.api()
	if err != nil {
		return err
	}
	body, contentType, err := projectForm(folder, dir, overwrite, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	res, err := api.UploadTestProjectWithBodyWithResponse(cmd.Context(), contentType, bytes.NewReader(body))
	if err := a.check(res, err, 201); err != nil {
		return fmt.Errorf("%s: %w", folder, err)
	}
	if a.json {
		return printJSON(cmd.OutOrStdout(), res.JSON201)
	}
	for _, f := range res.JSON201.TestFiles {
		fmt.Fprintln(cmd.OutOrStdout(), f.Path)
	}
	if len(res.JSON201.TestFiles) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "baton: %s stored in %s, but pytest would collect no test file in it\n", folder, res.JSON201.Directory)
	}
	return nil
}

// projectForm encodes the multipart/form-data body of
// POST /api/test-projects for folder: one "file" part per regular file,
// named by its slash-separated path inside the folder. Hidden folders,
// __pycache__ and compiled files are left out (the server refuses the
// latter two); symbolic links are skipped with a note on warn, since the
// server would store a copy of what they point at in no one's name.
func projectForm(folder, dir string, overwrite bool, warn io.Writer) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	files := 0
	err := filepath.WalkDir(folder, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(folder, path)
		if err != nil || rel == "." {
			return err
		}
		name := d.Name()
		switch {
		case d.IsDir() && (strings.HasPrefix(name, ".") || name == "__pycache__"):
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			fmt.Fprintf(warn, "baton: skipped %s: a symbolic link\n", path)
			return nil
		case !d.Type().IsRegular(), strings.HasSuffix(name, ".pyc"), strings.HasSuffix(name, ".pyo"):
			return nil
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", multipartFile("file", filepath.ToSlash(rel)))
		hdr.Set("Content-Type", "application/octet-stream")
		fw, err := w.CreatePart(hdr)
		if err != nil {
			return err
		}
		files++
		_, err = fw.Write(content)
		return err
	})
	if err != nil {
		return nil, "", usagef("%v", err)
	}
	if files == 0 {
		return nil, "", usagef("%s has no files to upload", folder)
	}
	if err := writeFields(w, dir, overwrite); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// writeFields writes the directory and overwrite fields both uploads have.
func writeFields(w *multipart.Writer, dir string, overwrite bool) error {
	ov := client.UploadOverwriteFalse
	if overwrite {
		ov = client.UploadOverwriteTrue
	}
	for name, value := range map[string]string{"directory": dir, "overwrite": string(ov)} {
		if err := w.WriteField(name, value); err != nil {
			return err
		}
	}
	return nil
}

// uploadForm encodes the multipart/form-data body of
// client.UploadTestFileRequest: the generated client takes the body as it
// is, it has no encoder for multipart forms.
func uploadForm(path, dir string, overwrite bool) ([]byte, string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, "", usagef("%v", err)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", multipartFile("file", filepath.Base(path)))
	hdr.Set("Content-Type", "text/x-python")
	fw, err := w.CreatePart(hdr)
	if err != nil {
		return nil, "", err
	}
	if _, err := fw.Write(content); err != nil {
		return nil, "", err
	}
	if err := writeFields(w, dir, overwrite); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// multipartFile is a file part's Content-Disposition, quoted as
// mime/multipart's CreateFormFile quotes it (which would also set the part's
// type to application/octet-stream).
func multipartFile(field, name string) string {
	q := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `form-data; name="` + q.Replace(field) + `"; filename="` + q.Replace(name) + `"`
}
