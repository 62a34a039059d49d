package runner

import (
	"encoding/xml"
	"os"
	"strings"

	"github.com/baton-ci/baton/api/domain"
)

// reportFile is pytest's JUnit report, written in the run's work directory
// (the dot keeps it apart from the catalog root links there).
const reportFile = ".baton-report.xml"

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

// readReport parses the JUnit report at path into per-test results and a
// summary; ok is false when pytest wrote no readable report (it was killed,
// or failed before writing).
func readReport(path string) (summary *domain.TestSummary, tests []domain.TestResult, ok bool) {
	data, err := os.ReadFile(path)
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
	summary = &domain.TestSummary{}
	tests = make([]domain.TestResult, 0, len(cases))
	for _, c := range cases {
		r := domain.TestResult{NodeID: nodeID(c), Outcome: domain.TestPassed, DurationMS: int64(c.Time * 1000)}
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

// nodeID rebuilds pytest's node id ("dir/test_x.py::TestA::test_b") from the
// xunit1 attributes: file, and a classname that is the dotted module path
// followed by any classes.
func nodeID(c junitCase) string {
	if c.File == "" {
		if c.Classname == "" {
			return c.Name
		}
		return c.Classname + "::" + c.Name
	}
	module := strings.ReplaceAll(strings.TrimSuffix(c.File, ".py"), "/", ".")
	id := c.File
	if rest := strings.TrimPrefix(strings.TrimPrefix(c.Classname, module), "."); rest != "" && rest != c.Classname {
		id += "::" + strings.ReplaceAll(rest, ".", "::")
	}
	return id + "::" + c.Name
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
