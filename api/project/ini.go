package project

import (
	"fmt"
	"strings"
)

// iniFile is a parsed ini file: section name -> key -> value.
type iniFile map[string]map[string]string

// parseINI parses ini text exactly as pytest's iniconfig does (comments
// start with '#' or ';' at the beginning of a line, "key = value" or
// "key: value", indented lines continue the previous value, duplicate
// sections or keys are errors). It is a port rather than a Go ini library
// because those accept and reject different files and join continuation
// lines differently, and Baton must read a project's config the way pytest
// will.
func parseINI(text string) (iniFile, error) {
	out := iniFile{}
	section := ""
	haveSection := false
	var lastKey string
	lastIsValue := false
	for i, raw := range strings.Split(text, "\n") {
		lineno := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		line := strings.TrimRight(raw, " \t\r\n\v\f")
		if c := strings.TrimLeft(raw, " \t\r\n\v\f"); c == "" || c[0] == '#' || c[0] == ';' {
			continue
		}
		switch {
		case line[0] == '[':
			head := line
			for _, c := range "#;" {
				head = strings.TrimRight(strings.SplitN(head, string(c), 2)[0], " \t")
			}
			if strings.HasSuffix(head, "]") {
				name := head[1 : len(head)-1]
				if name == "" {
					return nil, fmt.Errorf("line %d: empty section name", lineno)
				}
				if _, dup := out[name]; dup {
					return nil, fmt.Errorf("line %d: duplicate section %q", lineno, name)
				}
				out[name] = map[string]string{}
				section, haveSection, lastIsValue = name, true, false
				continue
			}
			// iniconfig treats an unclosed "[..." as a continuation line.
			if err := continueValue(out, section, lastKey, lastIsValue, strings.TrimSpace(line), lineno); err != nil {
				return nil, err
			}
		case line[0] != ' ' && line[0] != '\t':
			name, value, ok := splitKeyValue(line)
			if !ok {
				return nil, fmt.Errorf("line %d: unexpected line: %q", lineno, line)
			}
			if !haveSection {
				return nil, fmt.Errorf("line %d: no section header defined", lineno)
			}
			if _, dup := out[section][name]; dup {
				return nil, fmt.Errorf("line %d: duplicate name %q", lineno, name)
			}
			out[section][name] = value
			lastKey, lastIsValue = name, true
		default:
			if err := continueValue(out, section, lastKey, lastIsValue, strings.TrimSpace(line), lineno); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func continueValue(out iniFile, section, key string, haveValue bool, data string, lineno int) error {
	if !haveValue {
		return fmt.Errorf("line %d: unexpected value continuation", lineno)
	}
	if prev := out[section][key]; prev != "" {
		data = prev + "\n" + data
	}
	out[section][key] = data
	return nil
}

// splitKeyValue splits "name = value" or "name: value" as iniconfig does:
// '=' wins unless the name before it contains ':'.
func splitKeyValue(line string) (string, string, bool) {
	if name, value, ok := strings.Cut(line, "="); ok && !strings.Contains(name, ":") {
		return strings.TrimSpace(name), strings.TrimSpace(value), true
	}
	if name, value, ok := strings.Cut(line, ":"); ok {
		return strings.TrimSpace(name), strings.TrimSpace(value), true
	}
	return "", "", false
}

// SplitArgs splits s as pytest splits an ini "args" value or
// PYTEST_ADDOPTS (Python's shlex.split).
func SplitArgs(s string) ([]string, error) { return shlexSplit(s) }

// shlexSplit splits s like Python's shlex.split (POSIX mode, no comments),
// which is how pytest turns an ini "args" value such as addopts into
// arguments.
func shlexSplit(s string) ([]string, error) {
	var (
		out     []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			// Inside double quotes a backslash escapes only \ " $ ` and newline.
			if quote == '"' && !strings.ContainsRune("\\\"$`\n", r) {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped, inWord = false, true
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case quote != 0:
		return nil, fmt.Errorf("no closing quotation in %q", s)
	case escaped:
		return nil, fmt.Errorf("no escaped character in %q", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
