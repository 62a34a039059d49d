package runner

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func maskAll(m *masker, parts ...string) string {
	var out []byte
	for _, p := range parts {
		out = m.write(out, []byte(p))
	}
	return string(m.flush(out))
}

func TestMasker(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		secrets []string
		parts   []string
		want    string
	}{
		{"none", nil, []string{"a secret-ish line\n"}, "a secret-ish line\n"},
		{"whole", []string{"s3cret"}, []string{"x s3cret y\n"}, "x [MASKED] y\n"},
		{"twice", []string{"s3cret"}, []string{"s3crets3cret"}, "[MASKED][MASKED]"},
		{"split", []string{"s3cret"}, []string{"x s3", "cr", "et y"}, "x [MASKED] y"},
		{"byte by byte", []string{"s3cret"}, strings.Split("as3cretb", ""), "a[MASKED]b"},
		{"false start", []string{"s3cret"}, []string{"s3s3", "cret s3c"}, "s3[MASKED] s3c"},
		{"prefix at end released by flush", []string{"s3cret"}, []string{"ends with s3c"}, "ends with s3c"},
		{"longest wins", []string{"abc", "abcdef"}, []string{"xabcdefx abcx"}, "x[MASKED]x [MASKED]x"},
		{"empty secret ignored", []string{""}, []string{"text"}, "text"},
		{"overlapping secrets", []string{"aab"}, []string{"aaab"}, "a[MASKED]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, maskAll(newMasker(tc.secrets), tc.parts...))
		})
	}
}

// Whatever the chunking, masked output equals masking the whole text at
// once, and holds back nothing that cannot begin a secret.
func TestMaskerAnySplit(t *testing.T) {
	t.Parallel()
	secrets := []string{"tok-123", "tok-123456", "xyz"}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "tok-123456xyz \n"
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for n := rng.IntN(60); n > 0; n-- {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		text := b.String()
		want := maskAll(newMasker(secrets), text)
		var parts []string
		for rest := text; rest != ""; {
			k := 1 + rng.IntN(len(rest))
			parts, rest = append(parts, rest[:k]), rest[k:]
		}
		require.Equal(t, want, maskAll(newMasker(secrets), parts...), "text %q in parts %q", text, parts)
		for _, s := range secrets {
			require.NotContains(t, want, s, "text %q", text)
		}
	}
	m := newMasker([]string{"secret"})
	require.Equal(t, "plain text ", string(m.write(nil, []byte("plain text "))), "text that cannot begin a secret is not held back")
}
