// Package httpx holds the HTTP mechanics that the signoff package and signoff
// serve share: errors that carry their own status, RFC 9457 problem+json
// answers, JSON bodies in and out (with the body limit and the content-type
// rule that keeps cross-site forms out, R30), 405 answers with Allow, and the
// header values every answer reuses.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is an error that carries the HTTP answer it deserves: a malformed
// request (400, 413, 415), a cross-origin one (403), a refused login (401),
// a rate limit (429, with RetryAfter). Detail is sent to the client, so it
// must name the problem without echoing a credential.
type Error struct {
	Status int
	Detail string
	// RetryAfter, when positive, is sent as Retry-After (whole seconds,
	// rounded up): with Status 429 it tells the client when to come back.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return "signoff: " + strings.ToLower(http.StatusText(e.Status)) + ": " + e.Detail
}

// Allow answers 405 with an Allow header unless r's method is one of
// methods. HEAD is allowed wherever GET is.
func Allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	allowed := strings.Join(methods, ", ")
	w.Header().Set("Allow", allowed)
	WriteProblem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+allowed)
	return false
}

// MaxBodyBytes bounds a JSON request body.
const MaxBodyBytes = 64 << 10

// ReadJSON decodes r's body into v. The body must be one JSON value with
// Content-Type application/json (415 otherwise: simple content types are
// what a cross-site form can send, R30), at most MaxBodyBytes (413), with no
// unknown fields and nothing after it (400). When optional is true, a request
// with no body at all is accepted and leaves v as it is.
func ReadJSON(r *http.Request, v any, optional bool) error {
	b, err := ReadBody(r, optional)
	if err != nil || b == nil {
		return err
	}
	return DecodeJSON(b, v)
}

// ReadBody reads r's body under ReadJSON's rules of Content-Type and size,
// for DecodeJSON. It returns nil and no error only when optional is true and
// there is no body.
func ReadBody(r *http.Request, optional bool) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if optional && (r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0) {
			return nil, nil
		}
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json"}
	}
	if ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, &Error{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json, not " + Truncate(ct, 64)}
		}
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Detail: "could not read the body"}
	}
	if len(b) > MaxBodyBytes {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}
	}
	if len(b) == 0 {
		if optional {
			return nil, nil
		}
		return []byte{}, nil // DecodeJSON: empty
	}
	return b, nil
}

// DecodeJSON decodes exactly one JSON value with no unknown fields. Its errors
// name the problem but never echo the input, which may hold a password.
func DecodeJSON(b []byte, v any) error {
	if t := bytes.TrimLeft(b, jsonSpace); len(t) > 0 && t[0] != '{' {
		return &Error{Status: http.StatusBadRequest, Detail: "the body is not the JSON object this route takes"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf("the body is not valid JSON (at byte %d)", syn.Offset)}
		case errors.As(err, &typ):
			return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type)}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return &Error{Status: http.StatusBadRequest, Detail: "the body is empty or cut short"}
		}
		if f, ok := unknownField(err); ok {
			return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf("unknown field %s", Truncate(f, 64))}
		}
		return &Error{Status: http.StatusBadRequest, Detail: "the body is not the JSON object this route takes"}
	}
	// Not dec.More(): it is false before a stray '}' or ']'.
	if len(bytes.TrimLeft(b[dec.InputOffset():], jsonSpace)) > 0 {
		return &Error{Status: http.StatusBadRequest, Detail: "the body has data after the JSON value"}
	}
	return nil
}

// jsonSpace is JSON's insignificant whitespace (RFC 8259 §2).
const jsonSpace = " \t\r\n"

// unknownField extracts the field name from encoding/json's "json: unknown
// field \"x\"" error, the one error it has no type for.
func unknownField(err error) (string, bool) {
	const p = "json: unknown field "
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// Truncate returns s cut to at most n bytes.
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// WriteProblem answers with an RFC 9457 problem+json body. Responses that
// carry credentials or describe a failed authentication are never cached.
func WriteProblem(w http.ResponseWriter, status int, detail string) {
	h := w.Header()
	h["Content-Type"] = problemContentType
	h["Cache-Control"] = NoStore
	h["X-Content-Type-Options"] = Nosniff
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

// SetRetryAfter sets Retry-After to d in whole seconds, rounded up.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
}

// WriteJSON answers with v as JSON and Cache-Control: no-store.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteProblem(w, http.StatusInternalServerError, "internal error; see the server log")
		return
	}
	WriteEncoded(w, status, b)
}

// WriteEncoded is WriteJSON for a value already encoded as b; it appends
// the newline WriteJSON ends with to b.
func WriteEncoded(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = JSONContentType
	h["Cache-Control"] = NoStore
	h["Content-Length"] = ContentLength(len(b) + 1)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it, without reflection or allocation: <, > and & escaped, and U+2028 and U+2029; control characters as
// \u00XX but for \b \f \n \r \t; invalid UTF-8 as \ufffd.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// Header values shared by every response. Each slice has len == cap, so a
// handler that appends to one of these headers gets a copy and cannot change
// them for other requests.
var (
	NoStore            = []string{"no-store"}
	Nosniff            = []string{"nosniff"}
	JSONContentType    = []string{"application/json"}
	problemContentType = []string{"application/problem+json"}
)

// lengths are the Content-Length values of bodies shorter than
// len(lengths), made once.
var lengths = func() (ls [1024]string) {
	for i := range ls {
		ls[i] = strconv.Itoa(i)
	}
	return ls
}()

// ContentLength is the value of Content-Length for a body of n bytes,
// shared (len == cap) for the sizes most answers have.
func ContentLength(n int) []string {
	if n >= 0 && n < len(lengths) {
		return lengths[n : n+1 : n+1]
	}
	return []string{strconv.Itoa(n)}
}
