package domain

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EnvironmentState tells what an environment is doing.
type EnvironmentState string

// The environment states.
const (
	// EnvIdle: nothing runs and nothing waits for it.
	EnvIdle EnvironmentState = "idle"
	// EnvBusy: a run executes in it (a hold placed meanwhile takes effect
	// when that run ends).
	EnvBusy EnvironmentState = "busy"
	// EnvHeld: held, and nothing runs in it.
	EnvHeld EnvironmentState = "held"
	// EnvWaiting: free and not held, and a run that can take it waits for a
	// free worker slot.
	EnvWaiting EnvironmentState = "waiting"
)

// Environment is a shared test environment; at most one run executes in it.
type Environment struct {
	ID           int
	Name         string
	State        EnvironmentState
	RunningRunID *int64
	// QueuedRunIDs are the runs asked for this environment, in the order
	// they will start (pooled runs are listed under their pool).
	QueuedRunIDs []int64
	EnvironmentMeta
	// Hold is the hold in force, or pending while a run finishes; nil when
	// there is none or it has expired.
	Hold *Hold
}

// EnvironmentMeta is what people say about an environment: free text, the
// labels that make it part of pools, the URL its tests talk to, and the
// variables its runs receive.
type EnvironmentMeta struct {
	Description string
	// Labels are sorted; each is also a pool's name.
	Labels []string
	URL    string
	// Variables are sorted by name. A secret variable's value is stored
	// and given to runs, never returned by the API nor kept in logs.
	Variables []Variable
}

// Variable is one environment variable a run in the environment receives.
type Variable struct {
	Name   string
	Value  string
	Secret bool
}

// Hold takes an environment out of the scheduling: while it is in force no
// run starts there and pools skip it; queued runs keep their places.
type Hold struct {
	HeldBy string
	Reason string
	Since  time.Time
	// Until is when the hold ends by itself; nil for one that lasts until
	// it is released.
	Until *time.Time
}

// ActiveAt reports whether the hold is in force at t; a nil hold never is.
func (h *Hold) ActiveAt(t time.Time) bool {
	return h != nil && (h.Until == nil || h.Until.After(t))
}

// EnvironmentList is every environment and what waits for them.
type EnvironmentList struct {
	Items []*Environment
	// Pools lists every label in use, with its environments and waiting runs.
	Pools []Pool
	Slots WorkerSlots
	// WaitingForCapacity counts the queued runs that wait for a worker slot.
	WaitingForCapacity int
}

// EnvironmentName returns the conventional name of environment id.
func EnvironmentName(id int) string { return "env" + strconv.Itoa(id) }

// Limits on environment metadata and holds.
const (
	MaxLabelLen         = 32
	MaxLabels           = 20
	MaxDescriptionLen   = 500
	MaxURLLen           = 2048
	MaxVariables        = 50
	MaxVariableNameLen  = 64
	MaxVariableValueLen = 4096
	MaxHoldReasonLen    = 500
	// MaxHoldDuration bounds a hold's until: a longer one is a maintenance
	// hold, placed without until and released by hand.
	MaxHoldDuration = 24 * time.Hour
)

var (
	labelRe   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	varNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// The rules of environment fields, as clients read them.
var (
	RuleLabel = fmt.Sprintf("must be a lower-case word: a letter, then letters, digits or '-', at most %d characters (e.g. staging, eu-west, py311)", MaxLabelLen)
	RuleURL   = fmt.Sprintf("must be an absolute http or https URL of at most %d characters, or empty", MaxURLLen)
	RuleUntil = fmt.Sprintf("must be a time (RFC 3339) in the future, at most %s ahead; leave it out for a hold that lasts until released", "24h")
)

// CheckLabel returns why s is not a label (and so not a pool name), or "".
func CheckLabel(s string) string {
	if len(s) == 0 || len(s) > MaxLabelLen || !labelRe.MatchString(s) {
		return RuleLabel
	}
	return ""
}

// reservedExact and reservedPrefixes are the variable names a run's tests
// must not get from an environment: what Baton sets itself (TEST_ENV_*,
// TEST_RUN_ID, REQUESTED_BY, BATON_*) and what decides how the run executes
// (the search path, the interpreter, pytest's own options, the dynamic
// loader, the run user's home and temp directories). Compared ignoring case.
var (
	reservedExact = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TMPDIR", "TMP", "TEMP",
		"TEST_RUN_ID", "REQUESTED_BY", "DATABASE_URL", "IFS", "ENV", "BASH_ENV"}
	reservedPrefixes = []string{"TEST_ENV_", "BATON_", "PYTHON", "PYTEST", "LD_"}
)

// ReservedVariable reports whether name is one an environment may not set.
func ReservedVariable(name string) bool {
	up := strings.ToUpper(name)
	if slices.Contains(reservedExact, up) {
		return true
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	return false
}

// VariableInput sets one variable in an EnvironmentPatch. A nil Value keeps
// the stored value, so a secret can be kept (or a variable made secret)
// without sending it again.
type VariableInput struct {
	Value  *string
	Secret bool
}

// EnvironmentPatch changes an environment's metadata: each non-nil field
// replaces what is stored; Variables changes the named variables only, a
// nil entry removing one.
type EnvironmentPatch struct {
	Description *string
	Labels      *[]string
	URL         *string
	Variables   map[string]*VariableInput
}

// Empty reports whether p changes nothing.
func (p *EnvironmentPatch) Empty() bool {
	return p.Description == nil && p.Labels == nil && p.URL == nil && p.Variables == nil
}

// Apply checks p against the stored metadata cur and returns the metadata
// after it, or an EINVALID error naming every bad field (then nothing may
// change).
func (p *EnvironmentPatch) Apply(cur EnvironmentMeta) (EnvironmentMeta, error) {
	fe := FieldErrors{}
	if p.Empty() {
		return cur, Errorf(EINVALID, "The body must set at least one of description, labels, url and variables.")
	}
	next := cur
	if d := p.Description; d != nil {
		next.Description = strings.TrimSpace(*d)
		switch {
		case CheckText(*d) != "":
			fe.Add("description", RuleText)
		case utf8.RuneCountInString(next.Description) > MaxDescriptionLen:
			fe.Add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLen))
		}
	}
	if p.Labels != nil {
		next.Labels = checkLabels(*p.Labels, fe)
	}
	if u := p.URL; u != nil {
		next.URL = strings.TrimSpace(*u)
		if !validURL(next.URL) {
			fe.Add("url", RuleURL)
		}
	}
	if p.Variables != nil {
		next.Variables = p.applyVariables(cur.Variables, fe)
	}
	return next, fe.Err()
}

func checkLabels(in []string, fe FieldErrors) []string {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, l := range in {
		switch {
		case CheckLabel(l) != "":
			fe.Add("labels", fmt.Sprintf("has %s, which %s", strconv.QuoteToASCII(l), RuleLabel))
		case seen[l]:
			fe.Add("labels", "names "+l+" more than once")
		}
		seen[l] = true
		out = append(out, l)
	}
	if len(in) > MaxLabels {
		fe.Add("labels", fmt.Sprintf("must have at most %d labels", MaxLabels))
	}
	sort.Strings(out)
	return out
}

func validURL(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > MaxURLLen || CheckText(s) != "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (p *EnvironmentPatch) applyVariables(cur []Variable, fe FieldErrors) []Variable {
	byName := make(map[string]Variable, len(cur))
	for _, v := range cur {
		byName[v.Name] = v
	}
	names := make([]string, 0, len(p.Variables))
	for name := range p.Variables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		in := p.Variables[name]
		field := "variables." + name
		switch {
		case !varNameRe.MatchString(name) || len(name) > MaxVariableNameLen:
			fe.Add("variables", fmt.Sprintf("has the name %s: a name is a letter or '_', then letters, digits or '_', at most %d characters",
				strconv.QuoteToASCII(name), MaxVariableNameLen))
			continue
		case ReservedVariable(name):
			fe.Add(field, "is reserved: Baton sets it, or it changes how the run executes (TEST_ENV_*, BATON_*, PATH, PYTHON*, PYTEST*, LD_*, HOME, ...)")
			continue
		case in == nil:
			delete(byName, name)
			continue
		}
		old, exists := byName[name]
		v := Variable{Name: name, Secret: in.Secret}
		switch {
		case in.Value != nil:
			v.Value = *in.Value
		case !exists:
			fe.Add(field, "needs a value: the variable does not exist yet")
			continue
		case old.Secret && !in.Secret:
			fe.Add(field, "needs its value again to stop being secret (secret values are never shown)")
			continue
		default:
			v.Value = old.Value
		}
		switch {
		case strings.IndexByte(v.Value, 0) >= 0 || !utf8.ValidString(v.Value):
			fe.Add(field, "must be text without NUL")
		case len(v.Value) > MaxVariableValueLen:
			fe.Add(field, fmt.Sprintf("must be at most %d bytes", MaxVariableValueLen))
		}
		byName[name] = v
	}
	if len(byName) > MaxVariables {
		fe.Add("variables", fmt.Sprintf("must be at most %d variables", MaxVariables))
	}
	out := make([]Variable, 0, len(byName))
	for _, v := range byName {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HoldRequest takes an environment out of the scheduling.
type HoldRequest struct {
	HeldBy string
	Reason string
	// Until ends the hold by itself; nil for a maintenance hold that lasts
	// until released.
	Until *time.Time
}

// Validate checks r at time now; it trims the names first.
func (r *HoldRequest) Validate(now time.Time) error {
	r.HeldBy, r.Reason = strings.TrimSpace(r.HeldBy), strings.TrimSpace(r.Reason)
	fe := FieldErrors{}
	if why := CheckUsername(r.HeldBy); why != "" {
		fe.Add("held_by", why)
	}
	switch {
	case r.Reason == "":
		fe.Add("reason", "is required: say why the environment is held")
	case CheckText(r.Reason) != "":
		fe.Add("reason", RuleText)
	case utf8.RuneCountInString(r.Reason) > MaxHoldReasonLen:
		fe.Add("reason", fmt.Sprintf("must be at most %d characters", MaxHoldReasonLen))
	}
	if u := r.Until; u != nil && (!u.After(now) || u.Sub(now) > MaxHoldDuration) {
		fe.Add("until", RuleUntil)
	}
	return fe.Err()
}
