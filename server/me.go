package server

import (
	"net/http"
	"sync"
	"time"

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
	b = httpx.AppendString(b, p.SessionID)
	b = append(b, `,"mode":`...)
	b = httpx.AppendString(b, p.Mode.String())
	b = append(b, `},"user":{"email":`...)
	b = httpx.AppendString(b, email)
	b = append(b, `,"id":`...)
	b = httpx.AppendString(b, p.UserID)
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
