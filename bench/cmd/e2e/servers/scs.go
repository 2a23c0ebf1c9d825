package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
)

// scsServer is alexedwards/scs/v2 as its README sets it up: a
// SessionManager with a 24-hour lifetime and LoadAndSave around the app's
// ServeMux; the default memstore, or redisstore on a redigo pool as the
// redisstore README builds it.
type scsServer struct {
	sm   *scs.SessionManager
	pool *redis.Pool // nil with the memstore
}

func newSCS(redisAddr, prefix string, idle int) *scsServer {
	s := &scsServer{sm: scs.New()}
	s.sm.Lifetime = 24 * time.Hour
	if redisAddr != "" {
		s.pool = &redis.Pool{
			MaxIdle: idle,
			Dial: func() (redis.Conn, error) {
				return redis.Dial("tcp", redisAddr)
			},
		}
		s.sm.Store = redisstore.NewWithPrefix(s.pool, prefix)
	}
	return s
}

// handler is the app: POST /login puts the user ID in a renewed session
// (scs's advice against session fixation); GET /me reads it.
func (s *scsServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(w, r) {
			return
		}
		if err := s.sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.sm.Put(r.Context(), "userID", userID)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		answerUser(w, s.sm.GetString(r.Context(), "userID"))
	})
	return s.sm.LoadAndSave(mux)
}

// close deletes the sessions it keeps in Redis (those under its prefix:
// redisstore's All) and closes the pool. The memstore goes with the
// process.
func (s *scsServer) close() {
	if s.pool == nil {
		return
	}
	defer s.pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.sm.Iterate(ctx, s.sm.Destroy); err != nil {
		fmt.Fprintln(os.Stderr, "servers: scs: deleting its sessions from Redis:", err)
	}
}
