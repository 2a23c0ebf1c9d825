package testenv

import (
	"strings"
	"testing"
)

func TestSkipIsReported(t *testing.T) {
	t.Run("needs a service", func(t *testing.T) {
		Skip(t, "PostgreSQL store tests", "set SIGNOFF_TEST_POSTGRES")
		t.Fatal("Skip returned")
	})
	var b strings.Builder
	Report(&b)
	if !strings.Contains(b.String(), "skipped 1 suite(s)") || !strings.Contains(b.String(), "  - PostgreSQL store tests: set SIGNOFF_TEST_POSTGRES\n") {
		t.Fatalf("Report wrote %q", b.String())
	}
}
