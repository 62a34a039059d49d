package cli

import (
	"bytes"
	"fmt"
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
		Use:   "upload [--dir DIR] FILE...",
		Short: "upload test files into the catalog and print their catalog paths",
		Long: `Upload pytest files (test_*.py or *_test.py) into a catalog directory: an
existing writable one, or a new one under uploads/. Each stored file's catalog
path is printed on its own line, ready for ` + "`baton run`" + `.`,
		Example: `  baton run --env 7 --wait $(baton upload --dir uploads/ci tests/test_api.py)`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name at least one file to upload")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, paths []string) error {
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
	cmd.Flags().StringVarP(&dir, "dir", "d", "uploads", "the catalog directory to upload into")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace files of the same name")
	return cmd
}

// uploadForm encodes the multipart/form-data body of
// client.UploadTestFileRequest: the generated client takes the body as it
// is, it has no encoder for multipart forms.
func uploadForm(path, dir string, overwrite bool) ([]byte, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", usagef("%v", err)
	}
	if fi.IsDir() {
		return nil, "", usagef("%s is a directory: name the test files in it", path)
	}
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
	ov := client.UploadOverwriteFalse
	if overwrite {
		ov = client.UploadOverwriteTrue
	}
	for name, value := range map[string]string{"directory": dir, "overwrite": string(ov)} {
		if err := w.WriteField(name, value); err != nil {
			return nil, "", err
		}
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
