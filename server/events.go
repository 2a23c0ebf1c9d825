package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/signoff/signoff"
)

// The server's own audit events (docs/events.md), beside the Manager's:
// the same schema, the event's name as the message and user, session and
// ip on every one. An account named by an email that did not sign in is
// a fingerprint (account), never the address.

// Names of the server's audit events.
const (
	eventLoginFailed      = "login.failed"
	eventRateLimited      = "rate_limited"
	eventRegister         = "register"
	eventRegisterTaken    = "register.taken"
	eventPasswordChanged  = "password.changed"
	eventPasswordMismatch = "password.change_failed"
)

// event logs the audit event name for the request r.
func (s *Server) event(r *http.Request, level slog.Level, name, user, session string, extra ...slog.Attr) {
	attrs := append([]slog.Attr{slog.String("user", user), slog.String("session", session), slog.String("ip", s.clientIP(r))}, extra...)
	s.log.LogAttrs(context.WithoutCancel(r.Context()), level, name, attrs...)
}

// account names an email address in the log without writing it: the
// fingerprint of its normalized form (of the trimmed, lower-cased text when
// it is not an address), the same for every attempt on that account.
func account(email string) slog.Attr {
	n, err := NormalizeEmail(email)
	if err != nil {
		n = strings.ToLower(strings.TrimSpace(email))
	}
	return slog.String("account", signoff.NewSecret("account:"+n).Fingerprint())
}

// Names of the events of the admin commands on accounts (signoff users
// disable, enable, delete, set-password), logged by the command.
const (
	eventUserDisabled    = "user.disabled"
	eventUserEnabled     = "user.enabled"
	eventUserDeleted     = "user.deleted"
	eventUserPasswordSet = "user.password_set"
)

// event logs the audit event name of an admin command's action on the
// account user: no session and no client address, by an admin, the
// operator that ctx names (signoff.WithOperator).
func (a *Admin) event(ctx context.Context, name, user string) {
	a.log.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, name,
		slog.String("user", user), slog.String("session", ""), slog.String("ip", ""),
		slog.String("by", "admin"), slog.String("operator", signoff.OperatorFrom(ctx)))
}

// eventAdminApplied is what an instance logs when it applies what an
// administrator did: a revocation, a key change or a notice that an admin
// command published, from any process.
const eventAdminApplied = "admin.applied"

// notice tells every running instance, for its log, what an admin command
// did that revokes nothing (users enable, set-password --keep-sessions).
// A notice that not every instance confirmed is only a warning: the
// change itself is made.
func (a *Admin) notice(ctx context.Context, user string) {
	r := signoff.Revocation{UserID: user, Until: time.Now().Add(time.Hour),
		Operator: signoff.OperatorFrom(ctx), Action: signoff.ActionFrom(ctx)}
	if err := a.bus.Publish(ctx, r); err != nil {
		a.log.Warn("not every running instance confirmed the notice of this change; it is made all the same", "action", r.Action, "err", err)
	}
}

// hooks are the Manager's Hooks of the server: the metrics, and the log
// line of an administrator's revocation applied here, so that every
// running instance's log says what an admin command did and who ran it.
func (s *Server) hooks() signoff.Hooks {
	h := s.metrics.hooks()
	applied := h.Applied
	h.Applied = func(r signoff.Revocation) {
		applied(r)
		if r.Keys > 0 && s.keys != nil {
			// Loaded before the bus acknowledges: when keys rotate or keys
			// revoke returns, this instance has the new set. A store read
			// on the bus's goroutine, for a change made rarely.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.reloadKeys(ctx); err != nil {
				s.log.Error("jwt keys: the store's new version could not be loaded; this instance keeps the keys it has", "version", r.Keys, "err", err)
			}
		}
		// One line per action: a logout everywhere is published twice,
		// pending and then done (with its auth_version).
		if r.Operator == "" || (r.Pending != "" && r.AuthVersion == 0) {
			return
		}
		s.log.LogAttrs(context.Background(), slog.LevelInfo, eventAdminApplied,
			slog.String("user", r.UserID), slog.String("session", r.SessionID), slog.String("ip", ""),
			slog.String("by", "admin"), slog.String("operator", r.Operator), slog.String("action", r.Action),
			slog.Int64("auth_version", r.AuthVersion))
	}
	return h
}
