package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/baton-ci/baton/api/domain"
)

func TestCheckText(t *testing.T) {
	for _, s := range []string{"", "alice", "Zoë 😀", "\ufffd", "tab\tnew\nline\r", "x\u00a0y"} {
		assert.Empty(t, domain.CheckText(s), "%q is text", s)
	}
	for _, s := range []string{"a\x00b", "\x07", "\x1b[31m", "\x7f", "\u0085", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82"} {
		assert.Equal(t, domain.RuleText, domain.CheckText(s), "%q is not text", s)
	}
}
