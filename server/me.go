package server

import (
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/httpx"
)

// writeMe answers GET /api/me: the user and the session, as JSON encoded
// by hand rather than by reflection. The bytes are what encoding/json
// makes of the same value (TestMeJSON, FuzzAppendJSONString): keys in
// order, HTML-safe escapes, a trailing newline.
func writeMe(w http.ResponseWriter, p *signoff.Principal, email string) {
	bp := meBufs.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"session":{"expires_at":"`...)
	b = p.ExpiresAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","id":`...)
	b = appendJSONString(b, p.SessionID)
	b = append(b, `,"mode":`...)
	b = appendJSONString(b, p.Mode.String())
	b = append(b, `},"user":{"email":`...)
	b = appendJSONString(b, email)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, p.UserID)
	b = append(b, "}}\n"...)
	h := w.Header()
	h["Content-Type"] = httpx.JSONContentType
	h["Cache-Control"] = httpx.NoStore
	h["Content-Length"] = httpx.ContentLength(len(b))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	*bp = b
	meBufs.Put(bp)
}

var meBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json writes
// it: <, > and & escaped, and U+2028 and U+2029; control characters as
// \u00XX but for \b \f \n \r \t; invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
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
