package signoff

import (
	"net/http"

	"github.com/signoff/signoff/internal/httpx"
)

// The helpers below are the ones the Manager's own handlers answer with, for
// the handlers of yours that sit beside them (a login form, a registration)
// and should take and answer requests the same way.

// MaxBodyBytes bounds a JSON request body read by ReadJSON.
const MaxBodyBytes = httpx.MaxBodyBytes

// Problem is an RFC 9457 problem detail, the body of every error answer.
type Problem = httpx.Problem

// ReadJSON decodes r's body into v. The body must be one JSON value with
// Content-Type application/json (415 otherwise: simple content types are
// what a cross-site form can send, R30), at most MaxBodyBytes (413), with no
// unknown fields and nothing after it (400); each failure is a *StatusError.
// When optional is true, a request with no body at all is accepted and
// leaves v as it is.
func ReadJSON(r *http.Request, v any, optional bool) error { return httpx.ReadJSON(r, v, optional) }

// DecodeJSON decodes exactly one JSON value with no unknown fields. Its errors
// (*StatusError, 400) name the problem but never echo the input, which may
// hold a password.
func DecodeJSON(b []byte, v any) error { return httpx.DecodeJSON(b, v) }

// WriteJSON answers with v as JSON and Cache-Control: no-store.
func WriteJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

// WriteProblem answers with an RFC 9457 problem+json body and Cache-Control:
// no-store.
func WriteProblem(w http.ResponseWriter, status int, detail string) {
	httpx.WriteProblem(w, status, detail)
}
