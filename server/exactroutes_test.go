package server

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// exactRoutes answers every request the way the mux it stands before
// would: the same route, the same Request.Pattern, the same redirects and
// 404s, for the paths it takes and for those it must leave to the mux
// (escaped, unclean, with a trailing slash, CONNECT, absolute-form).
func TestExactRoutesAnswerAsTheMux(t *testing.T) {
	patterns := []string{verifyPath, "/api/me", "/healthz"}
	// The mux holds them beside the kinds of pattern routes() has.
	mux := http.NewServeMux()
	hot := exactRoutes{}
	for _, p := range append(patterns, "/", "/api/", "GET /static/", "/sessions/{id}", "/logout/all") {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Handler", p)
			w.Header().Set("X-Pattern", r.Pattern)
		})
		mux.Handle(p, h)
		for _, q := range patterns {
			if p == q {
				hot = append(hot, exactRoutes{{p, h}}...)
			}
		}
	}
	fast := hot.before(mux)
	for _, raw := range []string{
		"GET /verify", "HEAD /verify", "POST /verify", "DELETE /api/me", "GET /healthz?x=1",
		"GET /verify/", "GET /verify/x", "GET /%76erify", "GET /api%2Fme", "GET /api//me", "GET //verify",
		"GET /./verify", "GET /api/me/..", "GET /api/../verify", "GET /Verify", "GET /healthz/",
		"CONNECT /verify", "OPTIONS *", "GET http://127.0.0.1/verify", "GET /static/x", "PUT /static/x",
	} {
		method, target, _ := strings.Cut(raw, " ")
		req := func() *http.Request {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")))
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return r
		}
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		wr, gr := req(), req()
		mux.ServeHTTP(want, wr)
		fast.ServeHTTP(got, gr)
		for _, k := range []string{"X-Handler", "X-Pattern", "Location", "Allow"} {
			if g, w := got.Header().Get(k), want.Header().Get(k); g != w {
				t.Errorf("%s: %s %q, the mux's %q", raw, k, g, w)
			}
		}
		if got.Code != want.Code || gr.Pattern != wr.Pattern {
			t.Errorf("%s: %d, Pattern %q; the mux: %d, %q", raw, got.Code, gr.Pattern, want.Code, wr.Pattern)
		}
	}
}
