package signoff

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors. Compare with errors.Is: signoff wraps them with context.
var (
	// ErrNotFound is what a Store returns for a key that does not exist, has
	// expired or has been revoked: stores do not distinguish them.
	ErrNotFound = errors.New("signoff: not found")

	// ErrNoCredential means the request carries no credential at all.
	ErrNoCredential = errors.New("signoff: no credential")

	// ErrInvalidCredential means the request carries a credential that is
	// malformed, forged, unknown or expired.
	ErrInvalidCredential = errors.New("signoff: invalid credential")

	// ErrAmbiguousCredential means the request carries several different
	// values under the credential's cookie name. signoff never lets the order
	// of duplicate cookies decide who the caller is (RFC 6265bis §8.6).
	ErrAmbiguousCredential = errors.New("signoff: ambiguous credential: several different cookies with one name")

	// ErrSessionExpired means the session passed its idle timeout or its
	// absolute lifetime.
	ErrSessionExpired = errors.New("signoff: session expired")

	// ErrSessionRevoked means the session was logged out or revoked.
	ErrSessionRevoked = errors.New("signoff: session revoked")

	// ErrRefreshReused means a refresh token that was already spent was
	// presented again outside the grace rule. The store reports it as a
	// *ReuseError; the Manager answers by revoking the whole session (the
	// token family). See RFC 9700 §4.14.2.
	ErrRefreshReused = errors.New("signoff: refresh token reused")

	// ErrUnavailable means the store or the revocation bus could not answer.
	// signoff fails closed: protected requests and logout answer 503 (I11).
	ErrUnavailable = errors.New("signoff: store unavailable")

	// ErrEmailTaken is what a UserStore returns when the email is in use.
	ErrEmailTaken = errors.New("signoff: email already registered")

	// ErrWrongMode means the call does not exist in the Manager's mode, for
	// example Refresh in session mode.
	ErrWrongMode = errors.New("signoff: not available in this mode")
)

// ReuseError reports a spent refresh token presented again. It matches
// ErrRefreshReused with errors.Is and names the session (the token family) to
// revoke.
type ReuseError struct {
	SessionID string
	UserID    string
}

func (e *ReuseError) Error() string        { return ErrRefreshReused.Error() + " in session " + e.SessionID }
func (e *ReuseError) Is(target error) bool { return target == ErrRefreshReused }

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// StatusOf maps an error from this package to the HTTP status that answers it.
// This is the one place that decides it.
func StatusOf(err error) int {
	var re *RequestError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &re):
		return re.Status
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNoCredential), errors.Is(err, ErrInvalidCredential),
		errors.Is(err, ErrAmbiguousCredential), errors.Is(err, ErrSessionExpired),
		errors.Is(err, ErrSessionRevoked), errors.Is(err, ErrRefreshReused):
		return http.StatusUnauthorized
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrWrongMode):
		return http.StatusNotFound
	case errors.Is(err, ErrEmailTaken):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// publicDetail is the detail sent to the client for err. Internal errors are
// not described: their text may name tables or addresses.
func publicDetail(err error) string {
	var re *RequestError
	if errors.As(err, &re) {
		return re.Detail
	}
	switch StatusOf(err) {
	case http.StatusInternalServerError:
		return "internal error; see the server log"
	case http.StatusServiceUnavailable:
		return "the session store or the revocation bus did not answer; try again"
	}
	return err.Error()
}

// ErrorRecorder is an optional interface of an http.ResponseWriter that
// wants to know which error an answer was written for: WriteError calls
// RecordError with it before it writes, so that middleware such as an access
// log can log the cause of a 5xx, which the client is not told. WriteError
// finds it through wrappers that have an Unwrap() http.ResponseWriter method
// (as http.ResponseController does). Errors from this package carry no
// credential: Secrets print as fingerprints.
type ErrorRecorder interface {
	RecordError(err error)
}

// recordError hands err to the first ErrorRecorder in w's chain of wrappers.
func recordError(w http.ResponseWriter, err error) {
	for {
		switch x := w.(type) {
		case ErrorRecorder:
			x.RecordError(err)
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
}

// WriteError answers err as problem+json with the status StatusOf gives,
// and hands err to w's ErrorRecorder, if it has one.
func WriteError(w http.ResponseWriter, err error) {
	recordError(w, err)
	var re *RequestError
	if errors.As(err, &re) && re.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((re.RetryAfter+time.Second-1)/time.Second), 10))
	}
	WriteProblem(w, StatusOf(err), publicDetail(err))
}

// WriteProblem answers with an RFC 9457 problem+json body. Responses that
// carry credentials or describe a failed authentication are never cached.
func WriteProblem(w http.ResponseWriter, status int, detail string) {
	h := w.Header()
	h["Content-Type"] = problemContentType
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = nosniff
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

// WriteJSON answers with v as JSON and Cache-Control: no-store.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteProblem(w, http.StatusInternalServerError, "internal error; see the server log")
		return
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	h["Content-Length"] = []string{strconv.Itoa(len(b) + 1)}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Header values shared by every response. Each slice has len == cap, so a
// handler that appends to one of these headers gets a copy and cannot change
// them for other requests.
var (
	noStore            = []string{"no-store"}
	varyCookie         = []string{"Cookie"}
	varyAuthorization  = []string{"Authorization"}
	nosniff            = []string{"nosniff"}
	jsonContentType    = []string{"application/json"}
	problemContentType = []string{"application/problem+json"}
)
