package runner

import (
	"encoding/xml"
	"os"
	"sort"
	"strings"

	"github.com/baton-ci/baton/api/domain"
)

// maxMessage bounds a stored failure message; the full text is in the log.
const maxMessage = 4000

type junitReport struct {
	Suites []junitSuite `xml:"testsuite"`
	// Older pytest writes a bare <testsuite> root.
	Cases []junitCase `xml:"testcase"`
}

type junitSuite struct {
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string    `xml:"classname,attr"`
	Name      string    `xml:"name,attr"`
	File      string    `xml:"file,attr"`
	Time      float64   `xml:"time,attr"`
	Failure   *junitMsg `xml:"failure"`
	Error     *junitMsg `xml:"error"`
	Skipped   *junitMsg `xml:"skipped"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// readReport parses the JUnit report of inv into per-test results, named by
// catalog node id, and a summary; ok is false when pytest wrote no readable
// report (it was killed, or failed before writing).
func readReport(inv Invocation) (summary *domain.TestSummary, tests []domain.TestResult, ok bool) {
	data, err := os.ReadFile(inv.Report)
	if err != nil || len(data) == 0 {
		return nil, nil, false
	}
	var rep junitReport
	if err := xml.Unmarshal(data, &rep); err != nil {
		return nil, nil, false
	}
	cases := rep.Cases
	for _, s := range rep.Suites {
		cases = append(cases, s.Cases...)
	}
	files := invocationFiles(inv)
	summary = &domain.TestSummary{}
	tests = make([]domain.TestResult, 0, len(cases))
	for _, c := range cases {
		r := domain.TestResult{NodeID: joinCatalog(inv.Project, nodeID(c, files)), Outcome: domain.TestPassed, DurationMS: int64(c.Time * 1000)}
		switch {
		case c.Failure != nil:
			r.Outcome, r.Message = domain.TestFailed, message(c.Failure)
			summary.Failed++
		case c.Error != nil:
			r.Outcome, r.Message = domain.TestError, message(c.Error)
			summary.Errors++
		case c.Skipped != nil:
			r.Outcome, r.Message = domain.TestSkipped, message(c.Skipped)
			summary.Skipped++
		default:
			summary.Passed++
		}
		if r.DurationMS < 0 {
			r.DurationMS = 0
		}
		tests = append(tests, r)
	}
	summary.Total = len(tests)
	return summary, tests, true
}

// invocationFiles returns the distinct files inv runs, longest first, so
// that the most specific dotted module path matches first.
func invocationFiles(inv Invocation) []string {
	seen := map[string]bool{}
	var files []string
	for _, t := range inv.Tests {
		f, _, _ := strings.Cut(t, "::")
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return len(files[i]) > len(files[j]) })
	return files
}

// nodeID rebuilds pytest's node id ("dir/test_x.py::TestA::test_b") from
// the xunit1 attributes. pytest writes classname as the node id's file in
// dotted form followed by its classes, and name as the last part with any
// parameters (junitxml.py, mangle_test_address); file is where the test
// function is defined, which for an inherited test is not the node's file.
// So the node's file is the one of the run's files (or the file attribute)
// whose dotted form starts the classname.
func nodeID(c junitCase, files []string) string {
	candidates := files
	if c.File != "" {
		candidates = append([]string{c.File}, files...)
	}
	for _, f := range candidates {
		d := dotted(f)
		switch {
		case c.Classname == "" && c.Name == d:
			// A file that failed to collect is reported as a test named
			// after its module.
			return f
		case c.Classname == d:
			return f + "::" + c.Name
		case strings.HasPrefix(c.Classname, d+"."):
			return f + "::" + strings.ReplaceAll(c.Classname[len(d)+1:], ".", "::") + "::" + c.Name
		}
	}
	if c.Classname == "" {
		return c.Name
	}
	return c.Classname + "::" + c.Name
}

func dotted(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(file, ".py"), "/", ".")
}

func message(m *junitMsg) string {
	s := strings.TrimSpace(m.Message)
	if s == "" {
		s = strings.TrimSpace(m.Text)
	}
	if len(s) > maxMessage {
		s = strings.ToValidUTF8(s[:maxMessage], "") + "…"
	}
	return s
}
