package floor

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"
)

// A floor replays what it recorded: the same status, the same headers but
// a fresh Date, the same body, after a round trip through its file.
func TestReplay(t *testing.T) {
	orig := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header()["X-Auth-User"] = []string{"usr_1"}
		w.Header().Add("Vary", "Cookie")
		w.Header().Add("Vary", "Authorization")
		w.WriteHeader(203)
		w.Write([]byte(`{"user":"usr_1"}`))
	}))
	defer orig.Close()
	get := func(u string) (*http.Response, []byte) {
		t.Helper()
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	res, body := get(orig.URL + "/api/me")
	path := filepath.Join(t.TempDir(), "spec.json")
	if err := (Spec{"/api/me": Record(res, body)}).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	spec, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fl := httptest.NewServer(spec.Handler())
	defer fl.Close()
	got, gotBody := get(fl.URL + "/api/me")
	if got.StatusCode != 203 || string(gotBody) != string(body) {
		t.Errorf("floor: %d %q, want 203 %q", got.StatusCode, gotBody, body)
	}
	if got.Header.Get("Date") == "" {
		t.Error("floor sent no Date")
	}
	want, have := res.Header.Clone(), got.Header.Clone()
	want.Del("Date")
	have.Del("Date")
	if !reflect.DeepEqual(want, have) {
		t.Errorf("floor headers %v, want %v", have, want)
	}
	if names := spec["/api/me"].Names(); !reflect.DeepEqual(names, []string{"Cache-Control", "Content-Length", "Content-Type", "Vary", "X-Auth-User"}) {
		t.Errorf("Names: %v", names)
	}
	if res, _ := get(fl.URL + "/other"); res.StatusCode != 404 {
		t.Errorf("an unrecorded path: %d, want 404", res.StatusCode)
	}
}
