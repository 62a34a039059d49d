package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkScanLargeRepo scans a team checkout of 3,000 folders and 6,000
// files, half of them tests, under one pytest.ini: the catalog rescans every
// second, so this is a steady cost of every server (bench/README.md).
func BenchmarkScanLargeRepo(b *testing.B) {
	root := filepath.Join(b.TempDir(), "qa")
	for i := range 300 {
		for j := range 10 {
			d := filepath.Join(root, fmt.Sprintf("pkg%d", i), fmt.Sprintf("sub%d", j))
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
			for _, f := range []string{"test_x.py", "helper.py"} {
				if err := os.WriteFile(filepath.Join(d, f), []byte("x = 1\n"), 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "pytest.ini"), []byte("[pytest]\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	c, err := New([]Root{{Dir: root}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		files, _, err := c.Scan()
		if err != nil || len(files) != 3000 {
			b.Fatalf("scan: %v, %d files", err, len(files))
		}
	}
}
