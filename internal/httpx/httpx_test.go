package httpx

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString: any string is escaped as encoding/json escapes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "ada@example.test", "<a href='x'>&</a>", "\x00\x7f\u2028\u2029", "\xff\xfe", "é😀\\\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
