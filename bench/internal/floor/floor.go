// Package floor is the same-response floor of bench/cmd/e2e: a bare
// net/http handler that answers a path with a response recorded from
// another server — its status, its headers but Date, its body — so that
// the recorded server's CPU per request can be set beside what net/http
// alone spends to send the very same bytes.
package floor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
)

// Response is one recorded answer.
type Response struct {
	Status int
	Header http.Header // without Date and Transfer-Encoding
	Body   []byte
}

// Record keeps what res said and its body: the status, every header but
// Date (net/http sends a fresh one) and Transfer-Encoding (net/http
// chooses one for the body it is given), and the body.
func Record(res *http.Response, body []byte) Response {
	h := res.Header.Clone()
	h.Del("Date")
	h.Del("Transfer-Encoding")
	return Response{Status: res.StatusCode, Header: h, Body: slices.Clone(body)}
}

// Names lists the header names of r, sorted, as net/http sends them.
func (r Response) Names() []string {
	var ns []string
	for k := range r.Header {
		ns = append(ns, k)
	}
	slices.Sort(ns)
	return ns
}

// Spec is the responses of a floor server, by request path.
type Spec map[string]Response

// WriteFile writes s as JSON to path, readable by its owner only.
func (s Spec) WriteFile(path string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// ReadFile reads a Spec that WriteFile wrote.
func ReadFile(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("floor: %s: %w", path, err)
	}
	return s, nil
}

// Handler answers a request for a path of s with its recorded response,
// and any other with 404. It copies the recorded header values into the
// response's header map (the slices are shared: net/http does not change
// them) and writes the status and the body, nothing else.
func (s Spec) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := s[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for k, v := range res.Header {
			h[k] = v
		}
		w.WriteHeader(res.Status)
		w.Write(res.Body)
	})
}
