package runner

import (
	"bytes"
	"encoding/xml"

	"github.com/baton-ci/baton/api/domain"
)

// mergeJUnit is one JUnit XML document for a run of several pytest
// sessions (one per project): a <testsuites> holding every session's
// <testsuite> elements byte for byte, in session order. A single report is
// returned as pytest wrote it; nil when no session left one.
func mergeJUnit(sessions []domain.Outcome) []byte {
	var reports [][]byte
	for _, o := range sessions {
		if len(o.JUnitXML) > 0 {
			reports = append(reports, o.JUnitXML)
		}
	}
	switch len(reports) {
	case 0:
		return nil
	case 1:
		return reports[0]
	}
	var out bytes.Buffer
	out.WriteString(xml.Header)
	out.WriteString("<testsuites>")
	for _, r := range reports {
		for _, suite := range testsuites(r) {
			out.Write(suite)
		}
	}
	out.WriteString("</testsuites>\n")
	return out.Bytes()
}

// testsuites returns the raw <testsuite> elements of a pytest report,
// whether its root is <testsuites> (pytest 5.1 on) or a bare <testsuite>.
func testsuites(report []byte) [][]byte {
	dec := xml.NewDecoder(bytes.NewReader(report))
	var suites [][]byte
	depth := 0
	start := int64(-1)
	for {
		offset := dec.InputOffset()
		tok, err := dec.RawToken()
		if err != nil {
			return suites // io.EOF, or a truncated report: what was whole
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if t.Name.Local == "testsuite" && start < 0 {
				start = offset
			}
		case xml.EndElement:
			depth--
			if t.Name.Local == "testsuite" && start >= 0 {
				suites = append(suites, report[start:dec.InputOffset()])
				start = -1
			}
		}
	}
}
