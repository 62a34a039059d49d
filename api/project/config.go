package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// ConfigNames are the files pytest looks for in each directory, in its order
// (config/findpaths.py, locate_config).
var ConfigNames = []string{"pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"}

// Config is what Baton reads from a project's pytest configuration.
type Config struct {
	// File is the absolute path of the config file; "" when the project has
	// none (its root was found by setup.py or is the catalog root).
	File string
	// Values are the [pytest] ini options as pytest sees them: strings for
	// ini files, strings or lists for pyproject.toml.
	Values map[string]any
	// Err is set when the file is malformed: pytest stops with a usage
	// error at this file, so it still decides the root and the run reports
	// pytest's own message.
	Err error
}

// DefaultPythonFiles is pytest's default python_files.
var DefaultPythonFiles = []string{"test_*.py", "*_test.py"}

// DefaultNoRecurseDirs is pytest's default norecursedirs.
var DefaultNoRecurseDirs = []string{"*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}"}

// Args returns an "args"-type ini option (addopts, python_files,
// norecursedirs, testpaths) split as pytest splits it, and whether it is set.
func (c *Config) Args(name string) ([]string, bool) {
	if c == nil || c.Values == nil {
		return nil, false
	}
	v, ok := c.Values[name]
	if !ok {
		return nil, false
	}
	switch v := v.(type) {
	case string:
		args, err := shlexSplit(v)
		if err != nil {
			return nil, false
		}
		return args, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out, true
	}
	return []string{fmt.Sprint(v)}, true
}

// PythonFiles returns the project's python_files patterns.
func (c *Config) PythonFiles() []string {
	if p, ok := c.Args("python_files"); ok {
		return p
	}
	return DefaultPythonFiles
}

// NoRecurseDirs returns the project's norecursedirs patterns.
func (c *Config) NoRecurseDirs() []string {
	if p, ok := c.Args("norecursedirs"); ok {
		return p
	}
	return DefaultNoRecurseDirs
}

// loadConfig reads the pytest configuration of the candidate file at path,
// as load_config_dict_from_file does: it returns nil when the file is not a
// pytest config (an ini or cfg without the section, a pyproject.toml
// without [tool.pytest.ini_options]), and a Config with Err when pytest
// would stop at the file with an error.
func loadConfig(path string) *Config {
	data, err := os.ReadFile(path)
	if err != nil {
		// pytest uses is_file() and then reads; an unreadable file makes it fail.
		return &Config{File: path, Err: err}
	}
	name := filepath.Base(path)
	switch filepath.Ext(name) {
	case ".ini":
		ini, err := parseINI(string(data))
		if err != nil {
			return &Config{File: path, Err: fmt.Errorf("%s: %w", path, err)}
		}
		if sec, ok := ini["pytest"]; ok {
			return &Config{File: path, Values: stringValues(sec)}
		}
		// pytest.ini is always the config, even without a [pytest] section.
		if name == "pytest.ini" {
			return &Config{File: path, Values: map[string]any{}}
		}
	case ".cfg":
		ini, err := parseINI(string(data))
		if err != nil {
			return &Config{File: path, Err: fmt.Errorf("%s: %w", path, err)}
		}
		if sec, ok := ini["tool:pytest"]; ok {
			return &Config{File: path, Values: stringValues(sec)}
		}
		if _, ok := ini["pytest"]; ok {
			return &Config{File: path, Err: fmt.Errorf("%s: [pytest] section in setup.cfg files is no longer supported, change to [tool:pytest] instead", path)}
		}
	case ".toml":
		var doc map[string]any
		if err := toml.Unmarshal(data, &doc); err != nil {
			return &Config{File: path, Err: fmt.Errorf("%s: %w", path, err)}
		}
		tool, _ := doc["tool"].(map[string]any)
		pytest, _ := tool["pytest"].(map[string]any)
		if opts, ok := pytest["ini_options"].(map[string]any); ok {
			vals := make(map[string]any, len(opts))
			for k, v := range opts {
				if l, ok := v.([]any); ok {
					vals[k] = l
				} else {
					vals[k] = tomlScalar(v)
				}
			}
			return &Config{File: path, Values: vals}
		}
	}
	return nil
}

func stringValues(sec map[string]string) map[string]any {
	out := make(map[string]any, len(sec))
	for k, v := range sec {
		out[k] = v
	}
	return out
}

// tomlScalar renders a TOML scalar as Python's str() would, which is what
// pytest does with non-list values.
func tomlScalar(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return "True"
		}
		return "False"
	case string:
		return v
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") { // Python writes 6.0, not 6
			s += ".0"
		}
		return s
	}
	return strings.TrimSpace(fmt.Sprint(v))
}
