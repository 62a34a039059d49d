package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on picking tests inside files.
const (
	// MaxTestsPerRun bounds the node ids of one run; a rerun of the failed
	// tests of a large suite must fit.
	MaxTestsPerRun = 5000
	// MaxNodeIDLen bounds one node id, in bytes.
	MaxNodeIDLen = 2000
	// MaxExpressionLen bounds a -k or -m expression, in bytes.
	MaxExpressionLen = 1000
)

// NodeIDFile returns the file part of a catalog node id
// ("uploads/shop/test_a.py" of "uploads/shop/test_a.py::TestA::test_x[1]").
func NodeIDFile(id string) string {
	f, _, _ := strings.Cut(id, "::")
	return f
}

// checkNodeID returns why id cannot name a test, or "": a catalog .py path,
// then one or more non-empty "::"-separated parts (classes, the function,
// parameters in brackets), valid UTF-8 without control characters.
func checkNodeID(id string) string {
	file, rest, ok := strings.Cut(id, "::")
	switch {
	case !ok:
		return fmt.Sprintf("%q is not a node id such as tests/test_a.py::TestA::test_x (a whole file goes in test_files)", id)
	case len(id) > MaxNodeIDLen:
		return fmt.Sprintf("has a node id longer than %d bytes", MaxNodeIDLen)
	case !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0:
		return "has a node id that is not clean UTF-8 text"
	case !strings.HasSuffix(file, ".py"):
		return fmt.Sprintf("%q does not start with a .py file", id)
	}
	// Parameters may contain "::"; only the part before "[" is split.
	names, _, _ := strings.Cut(rest, "[")
	for _, part := range strings.Split(names, "::") {
		if strings.TrimSpace(part) == "" {
			return fmt.Sprintf("%q has an empty part", id)
		}
	}
	return ""
}

// CheckExpression returns why s is not a valid pytest -k / -m match
// expression, or "". It follows pytest's own grammar
// (_pytest/mark/expression.py):
//
//	expression: expr? EOF
//	expr:       and_expr ('or' and_expr)*
//	and_expr:   not_expr ('and' not_expr)*
//	not_expr:   'not' not_expr | '(' expr ')' | ident
//	ident:      (\w|:|\+|-|\.|\[|\]|\\|/)+
//
// with pytest's error messages ("at column 5: expected not OR left
// parenthesis OR identifier; got end of input").
func CheckExpression(s string) string {
	switch {
	case len(s) > MaxExpressionLen:
		return fmt.Sprintf("must be at most %d bytes", MaxExpressionLen)
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	}
	toks, err := lexExpression(s)
	if err != "" {
		return err
	}
	p := exprParser{toks: toks}
	if p.peek().kind == tokEOF {
		return ""
	}
	if err := p.expr(); err != "" {
		return err
	}
	return p.expect(tokEOF)
}

type tokKind int

const (
	tokLParen tokKind = iota
	tokRParen
	tokOr
	tokAnd
	tokNot
	tokIdent
	tokEOF
)

var tokNames = map[tokKind]string{tokLParen: "left parenthesis", tokRParen: "right parenthesis", tokOr: "or",
	tokAnd: "and", tokNot: "not", tokIdent: "identifier", tokEOF: "end of input"}

type token struct {
	kind tokKind
	pos  int // 0-based, in runes, as Python counts
}

// isIdentRune is Python's \w (Unicode letters, digits, '_') and : + - . [ ] \ /.
func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || strings.ContainsRune(`:+-.[]\/`, r)
}

func lexExpression(s string) ([]token, string) {
	rs := []rune(s)
	var out []token
	for pos := 0; pos < len(rs); {
		switch r := rs[pos]; {
		case r == ' ' || r == '\t':
			pos++
		case r == '(':
			out = append(out, token{tokLParen, pos})
			pos++
		case r == ')':
			out = append(out, token{tokRParen, pos})
			pos++
		case isIdentRune(r):
			end := pos
			for end < len(rs) && isIdentRune(rs[end]) {
				end++
			}
			kind := tokIdent
			switch string(rs[pos:end]) {
			case "or":
				kind = tokOr
			case "and":
				kind = tokAnd
			case "not":
				kind = tokNot
			}
			out = append(out, token{kind, pos})
			pos = end
		default:
			return nil, fmt.Sprintf("at column %d: unexpected character %q", pos+1, string(r))
		}
	}
	return append(out, token{tokEOF, len(rs)}), ""
}

type exprParser struct {
	toks []token
	i    int
}

func (p *exprParser) peek() token { return p.toks[p.i] }

func (p *exprParser) accept(k tokKind) bool {
	if p.toks[p.i].kind == k {
		if k != tokEOF {
			p.i++
		}
		return true
	}
	return false
}

func (p *exprParser) reject(expected ...tokKind) string {
	names := make([]string, len(expected))
	for i, k := range expected {
		names[i] = tokNames[k]
	}
	t := p.peek()
	return fmt.Sprintf("at column %d: expected %s; got %s", t.pos+1, strings.Join(names, " OR "), tokNames[t.kind])
}

func (p *exprParser) expect(k tokKind) string {
	if p.accept(k) {
		return ""
	}
	return p.reject(k)
}

func (p *exprParser) expr() string {
	if err := p.andExpr(); err != "" {
		return err
	}
	for p.accept(tokOr) {
		if err := p.andExpr(); err != "" {
			return err
		}
	}
	return ""
}

func (p *exprParser) andExpr() string {
	if err := p.notExpr(); err != "" {
		return err
	}
	for p.accept(tokAnd) {
		if err := p.notExpr(); err != "" {
			return err
		}
	}
	return ""
}

func (p *exprParser) notExpr() string {
	switch {
	case p.accept(tokNot):
		return p.notExpr()
	case p.accept(tokLParen):
		if err := p.expr(); err != "" {
			return err
		}
		return p.expect(tokRParen)
	case p.accept(tokIdent):
		return ""
	}
	return p.reject(tokNot, tokLParen, tokIdent)
}
