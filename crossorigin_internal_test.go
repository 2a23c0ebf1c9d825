package signoff

import (
	"net/http"
	"testing"
)

// CheckForwarded looks the forwarded-method headers up in the header map
// by their names as written: they must be canonical, or no proxy's header
// would be found.
func TestForwardedMethodHeadersAreCanonical(t *testing.T) {
	for _, h := range forwardedMethodHeaders {
		if c := http.CanonicalHeaderKey(h); c != h {
			t.Errorf("%q is not canonical (%q)", h, c)
		}
	}
}
