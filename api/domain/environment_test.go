package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

func TestCheckLabel(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"staging", "eu", "eu-west", "py311", "a", strings.Repeat("a", 32)} {
		require.Empty(t, domain.CheckLabel(ok), ok)
	}
	for _, bad := range []string{"", "Staging", "1eu", "-eu", "eu_west", "eu west", "ü", "a\x00", strings.Repeat("a", 33)} {
		require.Equal(t, domain.RuleLabel, domain.CheckLabel(bad), bad)
	}
}

func TestReservedVariable(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"PATH", "path", "TEST_ENV_ID", "TEST_ENV_URL", "test_env_fence", "TEST_RUN_ID", "REQUESTED_BY",
		"BATON_API_TOKEN", "BATON_API_URL", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS", "LD_PRELOAD",
		"HOME", "USER", "TMPDIR", "DATABASE_URL"} {
		require.True(t, domain.ReservedVariable(name), name)
	}
	for _, name := range []string{"API_KEY", "REGION", "TEST_ENVIRONMENT", "MY_PATH", "LANG", "TZ"} {
		require.False(t, domain.ReservedVariable(name), name)
	}
}

func sp(s string) *string { return &s }

// TestEnvironmentPatch: what a patch changes, and every way it is refused
// (each naming the field).
func TestEnvironmentPatch(t *testing.T) {
	t.Parallel()
	cur := domain.EnvironmentMeta{Description: "old", Labels: []string{"eu"}, URL: "https://a.example",
		Variables: []domain.Variable{{Name: "KEY", Value: "s3cret", Secret: true}, {Name: "REGION", Value: "eu-1"}}}

	t.Run("applies", func(t *testing.T) {
		labels := []string{"staging", "eu"}
		p := domain.EnvironmentPatch{Description: sp("  new  "), Labels: &labels, URL: sp(""),
			Variables: map[string]*domain.VariableInput{
				"REGION": nil, "NEW": {Value: sp("x\ny")}, "KEY": {Secret: true}, // keep the secret's value
			}}
		next, err := p.Apply(cur)
		require.NoError(t, err)
		require.Equal(t, domain.EnvironmentMeta{Description: "new", Labels: []string{"eu", "staging"}, URL: "",
			Variables: []domain.Variable{{Name: "KEY", Value: "s3cret", Secret: true}, {Name: "NEW", Value: "x\ny"}}}, next)
		require.Equal(t, "eu-1", cur.Variables[1].Value, "the stored metadata is not changed in place")
	})
	t.Run("only what is given", func(t *testing.T) {
		next, err := (&domain.EnvironmentPatch{URL: sp("http://h:8080/x")}).Apply(cur)
		require.NoError(t, err)
		require.Equal(t, cur.Labels, next.Labels)
		require.Equal(t, cur.Variables, next.Variables)
		require.Equal(t, "http://h:8080/x", next.URL)
	})

	many := func(n int) *[]string {
		out := make([]string, n)
		for i := range out {
			out[i] = "l" + strings.Repeat("a", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		return &out
	}
	vars := func(n int) map[string]*domain.VariableInput {
		m := map[string]*domain.VariableInput{}
		for i := range n {
			m["V"+strings.Repeat("X", i)] = &domain.VariableInput{Value: sp("v")}
		}
		return m
	}
	for name, c := range map[string]struct {
		p     domain.EnvironmentPatch
		field string
	}{
		"label syntax":        {domain.EnvironmentPatch{Labels: &[]string{"ok", "Not-OK"}}, "labels"},
		"label twice":         {domain.EnvironmentPatch{Labels: &[]string{"a", "a"}}, "labels"},
		"too many labels":     {domain.EnvironmentPatch{Labels: many(21)}, "labels"},
		"long description":    {domain.EnvironmentPatch{Description: sp(strings.Repeat("é", 501))}, "description"},
		"NUL in description":  {domain.EnvironmentPatch{Description: sp("a\x00b")}, "description"},
		"relative url":        {domain.EnvironmentPatch{URL: sp("/path")}, "url"},
		"ftp url":             {domain.EnvironmentPatch{URL: sp("ftp://h/")}, "url"},
		"url with a space":    {domain.EnvironmentPatch{URL: sp("http://h/a b")}, "url"},
		"long url":            {domain.EnvironmentPatch{URL: sp("http://h/" + strings.Repeat("a", 2048))}, "url"},
		"reserved name":       {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"TEST_ENV_ID": {Value: sp("9")}}}, "variables.TEST_ENV_ID"},
		"reserved prefix":     {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"PYTHONPATH": {Value: sp("/x")}}}, "variables.PYTHONPATH"},
		"reserved, any case":  {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"Path": {Value: sp("/x")}}}, "variables.Path"},
		"bad name":            {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"1X": {Value: sp("v")}}}, "variables"},
		"name with a dash":    {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"A-B": {Value: sp("v")}}}, "variables"},
		"long name":           {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{strings.Repeat("A", 65): {Value: sp("v")}}}, "variables"},
		"oversized value":     {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"BIG": {Value: sp(strings.Repeat("x", 4097))}}}, "variables.BIG"},
		"NUL in a value":      {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"V": {Value: sp("a\x00")}}}, "variables.V"},
		"invalid UTF-8":       {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"V": {Value: sp("a\xff")}}}, "variables.V"},
		"new without a value": {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"NEW": {}}}, "variables.NEW"},
		"unmask by flag":      {domain.EnvironmentPatch{Variables: map[string]*domain.VariableInput{"KEY": {Secret: false}}}, "variables.KEY"},
		"too many variables":  {domain.EnvironmentPatch{Variables: vars(49)}, "variables"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.p.Apply(cur)
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, domain.EINVALID, de.Code)
			require.Contains(t, de.Fields, c.field, "%v", de.Fields)
		})
	}
	t.Run("empty", func(t *testing.T) {
		_, err := (&domain.EnvironmentPatch{}).Apply(cur)
		require.Equal(t, domain.EINVALID, domain.ErrorCodeOf(err))
	})
	t.Run("limits in the rules", func(t *testing.T) {
		require.Contains(t, domain.RuleLabel, "32")
		require.Contains(t, domain.RuleURL, "2048")
	})
}

func TestHoldRequestValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	in := func(d time.Duration) *time.Time { u := now.Add(d); return &u }
	for name, c := range map[string]struct {
		r     domain.HoldRequest
		field string
	}{
		"maintenance":      {domain.HoldRequest{HeldBy: "carol", Reason: "upgrade"}, ""},
		"for an hour":      {domain.HoldRequest{HeldBy: "carol", Reason: "debug", Until: in(time.Hour)}, ""},
		"exactly 24 h":     {domain.HoldRequest{HeldBy: "carol", Reason: "debug", Until: in(24 * time.Hour)}, ""},
		"past 24 h":        {domain.HoldRequest{HeldBy: "carol", Reason: "debug", Until: in(24*time.Hour + time.Second)}, "until"},
		"in the past":      {domain.HoldRequest{HeldBy: "carol", Reason: "debug", Until: in(-time.Second)}, "until"},
		"now":              {domain.HoldRequest{HeldBy: "carol", Reason: "debug", Until: in(0)}, "until"},
		"no holder":        {domain.HoldRequest{HeldBy: "  ", Reason: "debug"}, "held_by"},
		"no reason":        {domain.HoldRequest{HeldBy: "carol"}, "reason"},
		"control in name":  {domain.HoldRequest{HeldBy: "ca\x01rol", Reason: "x"}, "held_by"},
		"very long reason": {domain.HoldRequest{HeldBy: "carol", Reason: strings.Repeat("r", 501)}, "reason"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.r.Validate(now)
			if c.field == "" {
				require.NoError(t, err)
				return
			}
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			require.Contains(t, de.Fields, c.field)
		})
	}
}
