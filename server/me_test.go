package server

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// TestMeJSON: /api/me's hand-written JSON is byte for byte what
// encoding/json makes of the same value, the map the route answered with
// before.
func TestMeJSON(t *testing.T) {
	for _, c := range []struct {
		p     signoff.Principal
		email string
	}{
		{signoff.Principal{UserID: "usr_1", SessionID: "ses_2", Mode: signoff.ModeSession, ExpiresAt: time.Date(2026, 12, 1, 4, 5, 6, 789000000, time.FixedZone("x", 3600))}, "ada@example.test"},
		{signoff.Principal{UserID: "u\"<>&\u2028", SessionID: "s\x00\x1f\\", Mode: signoff.ModeJWT, ExpiresAt: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)}, "bad\xffutf8\t\n\r\b\f é 😀"},
	} {
		want, err := json.Marshal(map[string]any{
			"user":    map[string]string{"id": c.p.UserID, "email": c.email},
			"session": map[string]any{"id": c.p.SessionID, "mode": c.p.Mode.String(), "expires_at": c.p.ExpiresAt.UTC()},
		})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		writeMe(w, &c.p, c.email)
		if got := w.Body.String(); got != string(want)+"\n" {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", w.Header())
		}
	}
}

// TestHealthyJSON: /healthz's constant answer is what encoding/json made
// of it before.
func TestHealthyJSON(t *testing.T) {
	want, _ := json.Marshal(map[string]string{"status": "ok"})
	if string(healthy) != string(want)+"\n" || healthyLength[0] != strconv.Itoa(len(healthy)) {
		t.Errorf("healthy = %q (%s bytes), want %s", healthy, healthyLength[0], want)
	}
}
