package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// With --log-format json every line serve writes is JSON, third-party
// libraries' included: go-redis complains when Redis goes away under a
// running server, and its complaints must not break a log pipeline.
func TestLogsStayJSONWhenRedisFails(t *testing.T) {
	rs := privateRedis(t, false)
	// At debug level, where go-redis's own lines go.
	p := serve(t, "--store", "sqlite:"+filepath.Join(t.TempDir(), "s.db"), "--sessions", rs.url(), "--log-format", "json", "--log-level", "debug")
	rs.kill()
	// Until the server has noticed (a 503 from /readyz) and go-redis has
	// said something, bounded.
	const goRedis = `"lib":"go-redis"`
	deadline := time.Now().Add(patience)
	for {
		res, err := http.Get(p.url + "readyz")
		if err == nil {
			res.Body.Close()
		}
		if err == nil && res.StatusCode == http.StatusServiceUnavailable && strings.Contains(p.stderr.String(), goRedis) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within %v of killing Redis: no 503 from /readyz and no line from go-redis; stderr:\n%s", patience, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimRight(p.stderr.String(), "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not JSON: %q", line)
		}
	}
}
