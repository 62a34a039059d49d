package domain

import (
	"unicode/utf8"
)

// RuleText is why a value that is not text is refused.
const RuleText = "must be text: valid UTF-8 without NUL or other control characters (tab and newlines aside)"

// CheckText returns RuleText when s is not text, else "". Text is valid
// UTF-8 (no overlong or surrogate encodings) without NUL or other C0/C1
// control characters except tab, newline and carriage return. Every string
// a client sends passes this before it reaches storage: PostgreSQL refuses
// NUL and invalid UTF-8 in text (SQLSTATE 22021), which would otherwise
// surface as a server fault.
func CheckText(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return RuleText
		}
		if isControl(r) {
			return RuleText
		}
		i += size
	}
	return ""
}

func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	return r < 0x20 || (r >= 0x7f && r < 0xa0)
}
