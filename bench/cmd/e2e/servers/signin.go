package main

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"

	"github.com/signoff/signoff/bench/internal/harness"
)

// userID is the ID the libraries' sign-in puts in the session.
const userID = "usr_bench"

// signedIn reads a sign-in's JSON body and reports whether it names the
// bench account with its password; it answers 401 itself when not. The
// libraries have no account store: this stands for the app's.
func signedIn(w http.ResponseWriter, r *http.Request) bool {
	var in struct{ Email, Password string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil ||
		in.Email != harness.Email || subtle.ConstantTimeCompare([]byte(in.Password), []byte(harness.Password)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return false
	}
	return true
}

// answerUser writes the signed-in user's ID, or 401 when there is none.
func answerUser(w http.ResponseWriter, uid string) {
	if uid == "" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	io.WriteString(w, uid)
}
