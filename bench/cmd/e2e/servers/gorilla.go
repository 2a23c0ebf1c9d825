package main

import (
	"crypto/rand"
	"net/http"

	"github.com/gorilla/sessions"
)

// gorillaServer is gorilla/sessions as its README uses it: a CookieStore
// with a signing key, store.Get in every handler that needs the session.
// The session is the signed cookie itself: nothing is kept on the server.
type gorillaServer struct{ store *sessions.CookieStore }

const gorillaSession = "session-name" // the README's

func newGorilla() *gorillaServer {
	key := make([]byte, 32)
	rand.Read(key)
	return &gorillaServer{store: sessions.NewCookieStore(key)}
}

// handler is the app: POST /login saves the user ID in the session; GET /me
// reads it.
func (g *gorillaServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(w, r) {
			return
		}
		s, _ := g.store.Get(r, gorillaSession)
		s.Values["user_id"] = userID
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, err := g.store.Get(r, gorillaSession)
		uid, _ := s.Values["user_id"].(string)
		if err != nil {
			uid = ""
		}
		answerUser(w, uid)
	})
	return mux
}
