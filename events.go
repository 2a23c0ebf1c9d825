package signoff

import (
	"context"
	"log/slog"
	"net/http"
)

// The audit events (docs/events.md): what a Manager logs of what it did,
// one record per event, with a stable schema: the message is the event's
// name, and every event carries user, session and ip (empty when there is
// none), the revocations also by ("user" or "admin") and operator.
// Credentials appear only as fingerprints (I9). Hooks are told the same.

// Names of the Manager's audit events.
const (
	EventLogin         = "login"
	EventLogout        = "logout"
	EventLogoutAll     = "logout_all"
	EventLogoutOthers  = "logout_others"
	EventSessionEnded  = "session.revoked"
	EventRefreshReused = "refresh.reuse_detected"
)

type ctxKey int

const (
	operatorKey ctxKey = iota
	actionKey
	clientIPKey
)

// WithOperator returns a context under which the revocations the Manager
// makes (RevokeUser, RevokeSession, RevokeOthers) are logged and reported
// as an administrator's, with operator naming who: signoff's admin
// commands use the OS user and host.
func WithOperator(ctx context.Context, operator string) context.Context {
	return context.WithValue(ctx, operatorKey, operator)
}

// WithAction returns a context under which the Manager's revocations
// carry action, the name of what an administrator did (user.disabled,
// say), to every instance's log; see Revocation.Action.
func WithAction(ctx context.Context, action string) context.Context {
	return context.WithValue(ctx, actionKey, action)
}

// ActionFrom returns the action WithAction named in ctx, or "".
func ActionFrom(ctx context.Context) string {
	a, _ := ctx.Value(actionKey).(string)
	return a
}

// OperatorFrom returns the administrator WithOperator named in ctx, or "",
// for a program that logs or publishes its own administrators' actions
// beside the Manager's (signoff's user and keys commands).
func OperatorFrom(ctx context.Context) string { return operatorOf(ctx) }

func operatorOf(ctx context.Context) string {
	op, _ := ctx.Value(operatorKey).(string)
	return op
}

// requestContext is r's context with the client's address, for the events
// of what r causes.
func (m *Manager) requestContext(r *http.Request) context.Context {
	return context.WithValue(r.Context(), clientIPKey, m.cfg.ClientIP(r))
}

// emit logs the audit event name at level with e's user, session and ip
// (and, for a revocation, by and operator) followed by extra, then tells
// hook. The client address and the operator come from ctx when e has none.
func (m *Manager) emit(ctx context.Context, level slog.Level, name string, hook func(Event), e Event, extra ...slog.Attr) {
	if e.IP == "" {
		e.IP, _ = ctx.Value(clientIPKey).(string)
	}
	if e.Operator == "" {
		e.Operator = operatorOf(ctx)
	}
	if e.Operator != "" {
		e.Admin = true
	}
	attrs := make([]slog.Attr, 0, 6+len(extra))
	attrs = append(attrs, slog.String("user", e.UserID), slog.String("session", e.SessionID), slog.String("ip", e.IP))
	switch name {
	case EventLogoutAll, EventSessionEnded:
		by := "user"
		if e.Admin {
			by = "admin"
		}
		attrs = append(attrs, slog.String("by", by), slog.String("operator", e.Operator))
	}
	m.log.LogAttrs(context.WithoutCancel(ctx), level, name, append(attrs, extra...)...)
	report(hook, e)
}
