package signoff

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/signoff/signoff/internal/httpx"
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

// StatusError is an error that carries the HTTP answer it deserves: a
// malformed request (400, 413, 415), a cross-origin one (403), a refused login
// (401), a rate limit (429, with RetryAfter). Its fields are Status, Detail
// (sent to the client, so it never echoes a credential) and RetryAfter (sent
// as Retry-After in whole seconds, rounded up, when positive). WriteError
// answers it with its own Status and Detail. Config.RefreshLimit and the
// server's login limits return one with Status 429.
type StatusError = httpx.Error

// StatusOf maps an error from this package to the HTTP status that answers it.
// This is the one place that decides it.
func StatusOf(err error) int {
	var re *StatusError
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
	var re *StatusError
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
	var re *StatusError
	if errors.As(err, &re) && re.RetryAfter > 0 {
		httpx.SetRetryAfter(w.Header(), re.RetryAfter)
	}
	httpx.WriteProblem(w, StatusOf(err), publicDetail(err))
}

// unavailable wraps a store or bus failure so that it answers 503.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// Header values of the Manager's answers. Each slice has len == cap, so a
// handler that appends to one of these headers gets a copy and cannot change
// them for other requests.
var (
	noStore    = httpx.NoStore
	varyCookie = []string{"Cookie"}
)
