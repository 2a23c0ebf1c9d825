package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/signoff/signoff"
)

// passwordChange is the body of POST /password. SignOutOthers absent means
// true: ending the other devices is the default a user is offered (R7).
type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	SignOutOthers   *bool  `json:"sign_out_others"`
}

var errWrongCurrentPassword = &signoff.StatusError{Status: http.StatusBadRequest, Detail: "the current password is wrong"}

// changePassword serves POST /password behind Manager.Require (a live
// credential, the cross-origin rule, no-store): it checks the current
// password, stores the new one and, unless the body says
// "sign_out_others":false, ends every other session of the user while this
// device stays signed in (ASVS 5 7.4.3, R7). It answers 200
// {"ok":true,"revoked":N}.
//
// A wrong current password is 400, not 401: the session is alive, and a 401
// would tell the client it is not. Each wrong one counts as a failed login
// of the account from this client (loginLimits), so the route is no way
// around sign-in's limits for someone who holds a session and guesses.
//
// The new password is stored before the other sessions end: a sign-in with
// the old password can then no longer start a session that would outlive the
// change. If ending them fails, the answer is 503 and says the password was
// changed; POST /logout/others finishes the job.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var body passwordChange
	if err := signoff.ReadJSON(r, &body, false); err != nil {
		signoff.WriteError(w, err)
		return
	}
	if body.CurrentPassword == "" {
		signoff.WriteProblem(w, http.StatusBadRequest, "current_password is required")
		return
	}
	if err := checkPassword(body.NewPassword); err != nil {
		signoff.WriteProblem(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.limit(w, r, "password", "") {
		return
	}
	p := signoff.PrincipalFrom(r.Context())
	u, err := s.users.UserByID(r.Context(), p.UserID)
	if err != nil {
		s.userGone(w, err)
		return
	}
	ticket, spent, wait := s.logins.begin(u.Email, clientKey(s.clientIP(r)))
	if spent != "" {
		signoff.WriteError(w, s.tooMany("password", spent, r, wait))
		return
	}
	good, err := s.pw.verify(r.Context(), u.PasswordHash, body.CurrentPassword)
	if err != nil {
		s.log.Error("password: verify the current password", "user", u.ID, "err", err)
	}
	if !good {
		s.event(r, slog.LevelInfo, eventPasswordMismatch, u.ID, p.SessionID)
		signoff.WriteError(w, errWrongCurrentPassword)
		return
	}
	ticket.succeeded()
	hash, err := s.pw.hash(r.Context(), body.NewPassword)
	if err == nil {
		err = s.users.SetPassword(r.Context(), u.ID, hash)
	}
	if err != nil {
		s.userGone(w, err)
		return
	}
	others := body.SignOutOthers == nil || *body.SignOutOthers
	n := 0
	if others {
		n, err = s.mgr.RevokeOthers(r.Context(), u.ID, p.SessionID)
	}
	s.event(r, slog.LevelInfo, eventPasswordChanged, u.ID, p.SessionID, slog.Bool("sign_out_others", others), slog.Int("ended", n))
	if err != nil {
		signoff.WriteError(w, fmt.Errorf("%w: %w", errOthersNotEnded, err))
		return
	}
	signoff.WriteJSON(w, http.StatusOK, struct {
		OK      bool `json:"ok"`
		Revoked int  `json:"revoked"`
	}{true, n})
}

var errOthersNotEnded = &signoff.StatusError{Status: http.StatusServiceUnavailable,
	Detail: "the password was changed, but the other devices could not all be signed out; sign out other devices again"}

// userGone answers a failed read or write of the signed-in user: 401 when
// the account no longer exists (its sessions are dead to it), else 503.
func (s *Server) userGone(w http.ResponseWriter, err error) {
	if errors.Is(err, signoff.ErrNotFound) {
		s.mgr.WriteAuthError(w, signoff.ErrSessionRevoked)
		return
	}
	signoff.WriteError(w, unavailableErr(err))
}
