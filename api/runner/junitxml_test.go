package runner

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

func TestMergeJUnit(t *testing.T) {
	a := []byte(`<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="2"><testcase classname="t" name="a"/><testcase classname="t" name="b"><failure message="x">boom &amp; more</failure></testcase></testsuite></testsuites>`)
	b := []byte(`<?xml version="1.0" encoding="utf-8"?><testsuite name="pytest" tests="1"><testcase classname="u" name="c"><skipped message="later"/></testcase></testsuite>`)
	require.Nil(t, mergeJUnit([]domain.Outcome{{}, {}}))
	require.Equal(t, a, mergeJUnit([]domain.Outcome{{JUnitXML: a}, {}}), "one report is served as pytest wrote it")

	merged := mergeJUnit([]domain.Outcome{{JUnitXML: a}, {}, {JUnitXML: b}})
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(merged, &doc), "%s", merged)
	require.Len(t, doc.Suites, 2)
	require.Len(t, doc.Suites[0].Cases, 2)
	require.NotNil(t, doc.Suites[0].Cases[1].Failure)
	require.Equal(t, "c", doc.Suites[1].Cases[0].Name)
	require.Contains(t, string(merged), `<failure message="x">boom &amp; more</failure>`, "suites are copied byte for byte")
}
