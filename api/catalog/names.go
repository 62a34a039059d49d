package catalog

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/baton-ci/baton/api/project"
)

// Limits on upload names, in bytes.
const (
	// MaxDirectoryLen caps a whole upload directory path.
	MaxDirectoryLen = 255
	// MaxElementLen caps one element of an upload directory path.
	MaxElementLen = 100
	// MaxFileNameLen caps the name of an uploaded file.
	MaxFileNameLen = 100
)

const pycache = "__pycache__"

// listable reports whether Scan may list an entry called name. Hidden entries
// and __pycache__ are never tests; names that are not clean UTF-8 or contain
// control characters or backslashes could not round-trip through JSON and
// Resolve unchanged.
func listable(name string) bool {
	return name != "" && name[0] != '.' && name != pycache &&
		utf8.ValidString(name) && !hasControl(name) && !strings.Contains(name, `\`)
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// checkDirectory returns why dir cannot be an upload directory, or "". It
// only looks at the text; roots and the disk are checked by Upload.
func checkDirectory(dir string) string {
	switch {
	case dir == "":
		return "is required"
	case len(dir) > MaxDirectoryLen:
		return fmt.Sprintf("must be at most %d bytes long", MaxDirectoryLen)
	case hasControl(dir):
		return "must not contain NUL or other control characters"
	case strings.Contains(dir, `\`):
		return `must use "/" as separator, not "\"`
	case strings.HasPrefix(dir, "/"):
		return "must be a relative catalog path such as uploads/payments, not an absolute path"
	}
	for _, el := range strings.Split(dir, "/") {
		if why := checkElement(el); why != "" {
			return why
		}
	}
	return ""
}

// checkElement returns why el cannot be one element of an upload directory
// (or a root name), or "". The rule is ASCII letters, digits, '_' and '-':
// hyphens because "sample-tests" exists, nothing else so that names need no
// quoting in shells, URLs or pytest node ids.
func checkElement(el string) string {
	switch {
	case el == "":
		return `must not contain empty elements ("//", or a leading or trailing "/")`
	case el == "." || el == "..":
		return `must not contain "." or ".." elements`
	case el[0] == '.':
		return fmt.Sprintf("must not contain hidden elements such as %q", el)
	case el == pycache:
		return "must not contain __pycache__"
	case len(el) > MaxElementLen:
		return fmt.Sprintf("must not contain elements longer than %d bytes", MaxElementLen)
	case el[0] == '-':
		return fmt.Sprintf("must not contain elements starting with '-' such as %q", el)
	}
	for i := 0; i < len(el); i++ {
		if !isWordByte(el[i]) && el[i] != '-' {
			return fmt.Sprintf("element %q may contain only ASCII letters, digits, '_' and '-'", el)
		}
	}
	return ""
}

// checkFileName returns why name cannot be the name of an uploaded test
// file, or "": among other rules it must match one of the python_files
// patterns of its project, or pytest would not collect it.
func checkFileName(name string, pythonFiles []string) string {
	switch {
	case name == "":
		return "name is required"
	case len(name) > MaxFileNameLen:
		return fmt.Sprintf("name must be at most %d bytes long", MaxFileNameLen)
	case hasControl(name):
		return "name must not contain NUL or other control characters"
	case strings.ContainsAny(name, `/\`):
		return `name must be a plain file name without "/" or "\"`
	case name[0] == '.':
		return "name must not start with '.'"
	case !strings.HasSuffix(name, ".py") || !slices.ContainsFunc(pythonFiles, func(p string) bool { return project.Match(p, name) }):
		return fmt.Sprintf("name %q must match %s (its project's python_files), otherwise pytest would not collect it", name, strings.Join(pythonFiles, " or "))
	}
	if mod := strings.TrimSuffix(name, ".py"); !isIdentifier(mod) {
		return fmt.Sprintf("name %q is not a valid Python module name (ASCII letters, digits and '_', not starting with a digit), so pytest could not import it", mod)
	}
	return ""
}

// isIdentifier reports whether s is an ASCII Python identifier. Non-ASCII
// identifiers are legal Python but are NFKC-normalised on import, so the
// module name could differ from the file name; they are not worth the risk.
func isIdentifier(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

func isWordByte(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}
