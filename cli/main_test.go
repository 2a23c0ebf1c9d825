package cli_test

import (
	"testing"

	"github.com/signoff/signoff/internal/testenv"
)

// TestMain names, after the run, the suites skipped for want of a real
// service and what enables each (internal/testenv).
func TestMain(m *testing.M) { testenv.Main(m) }
