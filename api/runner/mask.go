package runner

import (
	"bytes"
	"encoding/xml"
	"sort"
	"strings"
)

// Masked replaces a secret's value in stored logs and test results, as CI
// systems mask their secret variables.
const Masked = "[MASKED]"

// Var is one environment variable a run's tests receive. Secret ones have
// their value replaced by [MASKED] wherever Baton stores what the tests
// printed or reported. Baton's own BATON_API_TOKEN is one; per-environment
// secret variables (issue 13) are meant to be added the same way, through
// Runner.Vars or Spec.Vars.
type Var struct {
	Name   string
	Value  string
	Secret bool
}

// masker replaces secret values in a byte stream. A value split across two
// writes (pytest flushes whenever it likes) is still found: the longest
// tail of the data seen so far that could begin a secret is held back until
// the next write shows whether it does, and released by flush. Nothing else
// is ever delayed, so ordinary output still reaches the log at once.
type masker struct {
	secrets [][]byte // longest first, so a secret containing another wins
	pending []byte
}

// newMasker masks the given values; empty ones are ignored (they are no
// secret) and duplicates collapse.
func newMasker(values []string) *masker {
	seen := map[string]bool{}
	m := &masker{}
	for _, v := range values {
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		m.secrets = append(m.secrets, []byte(v))
	}
	sort.SliceStable(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	return m
}

// secretValues lists the values of the secret variables among vars.
func secretValues(vars ...[]Var) []string {
	var out []string
	for _, vs := range vars {
		for _, v := range vs {
			if v.Secret {
				out = append(out, v.Value)
			}
		}
	}
	return out
}

// write appends p, masked, to dst and returns it; a possible beginning of
// a secret at the end of p is kept for the next call.
func (m *masker) write(dst, p []byte) []byte {
	if len(m.secrets) == 0 {
		return append(dst, p...)
	}
	data := p
	if len(m.pending) > 0 {
		data = make([]byte, 0, len(m.pending)+len(p))
		data = append(append(data, m.pending...), p...)
		m.pending = nil
	}
	var rest []byte
	dst, rest = m.replace(dst, data)
	hold := m.heldTail(rest)
	dst = append(dst, rest[:len(rest)-hold]...)
	if hold > 0 {
		m.pending = append([]byte(nil), rest[len(rest)-hold:]...)
	}
	return dst
}

// flush appends whatever was held back to dst: the stream has ended, so it
// cannot become a secret any more.
func (m *masker) flush(dst []byte) []byte {
	dst = append(dst, m.pending...)
	m.pending = nil
	return dst
}

// replace appends data to dst with every whole secret masked, except for
// the text after the last secret, which it returns for the caller to check
// for a partial one.
func (m *masker) replace(dst, data []byte) ([]byte, []byte) {
	for {
		at, n := -1, 0
		for _, s := range m.secrets {
			if i := bytes.Index(data, s); i >= 0 && (at < 0 || i < at) {
				at, n = i, len(s)
			}
		}
		if at < 0 {
			return dst, data
		}
		dst = append(dst, data[:at]...)
		dst = append(dst, Masked...)
		data = data[at+n:]
	}
}

// heldTail returns the length of the longest suffix of data that is a
// proper prefix of a secret: a match that may complete with the next write.
func (m *masker) heldTail(data []byte) int {
	longest := 0
	for _, s := range m.secrets {
		for k := min(len(s)-1, len(data)); k > longest; k-- {
			if bytes.Equal(data[len(data)-k:], s[:k]) {
				longest = k
				break
			}
		}
	}
	return longest
}

// maskString masks whole secrets in s, for text stored outside the log
// (test node ids and failure messages from the JUnit report).
func (m *masker) maskString(s string) string {
	for _, sec := range m.secrets {
		s = strings.ReplaceAll(s, string(sec), Masked)
	}
	return s
}

// maskXML masks whole secrets in an XML document (pytest's JUnit report),
// written as they are or XML-escaped.
func (m *masker) maskXML(doc []byte) []byte {
	if len(doc) == 0 || len(m.secrets) == 0 {
		return doc
	}
	for _, sec := range m.secrets {
		doc = bytes.ReplaceAll(doc, sec, []byte(Masked))
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, sec)
		if !bytes.Equal(esc.Bytes(), sec) {
			doc = bytes.ReplaceAll(doc, esc.Bytes(), []byte(Masked))
		}
	}
	return doc
}
