package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
)

// requireTextQuery refuses a request whose URL query is not text (see
// domain.CheckText) with a 400 naming the parameter, whatever the
// endpoint, before any handler reads it: Echo's QueryParams silently drops
// pairs with bad escapes, and Go's URL decoding accepts NUL and invalid
// UTF-8 (%00, %FF, the overlong %C0%AF).
func requireTextQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := c.Request().URL.RawQuery
		if raw == "" {
			return next(c)
		}
		fe := domain.FieldErrors{}
		for _, pair := range strings.Split(raw, "&") {
			if pair == "" {
				continue
			}
			rawKey, rawValue, _ := strings.Cut(pair, "=")
			key, kerr := url.QueryUnescape(rawKey)
			if kerr != nil {
				key = rawKey
			}
			if kerr != nil || domain.CheckText(key) != "" {
				fe.Add(fieldName(key), "is not a valid query parameter name: "+domain.RuleText)
				continue
			}
			value, verr := url.QueryUnescape(rawValue)
			switch {
			case verr != nil:
				fe.Add(key, "has a malformed %-escape")
			case domain.CheckText(value) != "":
				fe.Add(key, domain.RuleText)
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		return next(c)
	}
}

// apiOnly applies m to requests under /api only.
func apiOnly(m echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		withM := m(next)
		return func(c echo.Context) error {
			if isAPI(c.Request().URL.Path) {
				return withM(c)
			}
			return next(c)
		}
	}
}

// fieldName is how a field is named in an error: as sent when that is
// text, else with Go escapes (a\x00b), so the name itself is text.
func fieldName(name string) string {
	if domain.CheckText(name) == "" {
		return name
	}
	q := strconv.QuoteToASCII(name)
	return q[1 : len(q)-1]
}

// checkJSONText finds what in a JSON body is not text — invalid UTF-8
// (which encoding/json would turn into U+FFFD without a word), escaped NUL
// or control characters (\b and \f too), lone UTF-16 surrogates such as
// \ud800 (also turned into U+FFFD), or raw control bytes (DEL too) — and returns a 400 naming the
// top-level member it is in; nil when the body is text throughout.
func checkJSONText(body []byte) error {
	at := badJSONText(body)
	if at < 0 {
		return nil
	}
	field := jsonMemberAt(body, at)
	if field == "" {
		return domain.Errorf(domain.EINVALID, "The body is not text: "+domain.RuleText+".")
	}
	return domain.Invalid(field, domain.RuleText)
}

// badJSONText returns the offset of the first byte of body that is not
// text (see checkJSONText), or -1.
func badJSONText(body []byte) int {
	inString := false
	for i := 0; i < len(body); {
		b := body[i]
		if b >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(body[i:])
			if (r == utf8.RuneError && size <= 1) || (inString && isC1(r)) {
				return i
			}
			i += size
			continue
		}
		switch {
		case !inString:
			if b == '"' {
				inString = true
			}
		case b == '"':
			inString = false
		case b < 0x20, b == 0x7f: // raw control bytes, DEL included
			return i
		case b == '\\' && i+1 < len(body):
			switch body[i+1] {
			case 'b', 'f': // backspace and form feed: control characters too
				return i
			case 'u':
			default:
				i += 2
				continue
			}
			r, ok := hex4(body, i+2)
			if !ok {
				return -1 // malformed JSON: Unmarshal says so
			}
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00:
				low, ok := hex4(body, i+8)
				if !ok || i+7 >= len(body) || body[i+6] != '\\' || body[i+7] != 'u' || low < 0xdc00 || low > 0xdfff {
					return i
				}
				i += 12
				continue
			case utf16.IsSurrogate(r), r < 0x20 && r != '\t' && r != '\n' && r != '\r', isC1(r):
				return i
			}
			i += 6
			continue
		}
		i++
	}
	return -1
}

func isC1(r rune) bool { return r >= 0x7f && r < 0xa0 }

// hex4 reads the four hex digits of a \u escape at body[i:].
func hex4(body []byte, i int) (rune, bool) {
	if i+4 > len(body) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[i:i+4]), 16, 16)
	return rune(n), err == nil
}

// jsonMemberAt names the top-level member of a JSON object body whose key
// or value holds offset at, or "" when at is outside any member.
func jsonMemberAt(body []byte, at int) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth := 0
	key, expectKey := "", false
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ""
			}
			return key // a raw control byte breaks the token holding it
		}
		end := dec.InputOffset()
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			expectKey = depth == 1
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			expectKey = depth == 1 // a member's object or array value ended
			continue
		}
		if depth == 1 && expectKey {
			s, _ := tok.(string)
			key = fieldName(s)
			expectKey = false
		} else if depth == 1 {
			expectKey = true
		}
		if int64(at) < end {
			return key
		}
	}
}
