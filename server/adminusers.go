package server

import (
	"context"
	"fmt"

	"github.com/signoff/signoff"
)

// The admin commands on accounts. Each one changes the account first and
// then ends its sessions with Manager.RevokeUser, which every running
// instance has applied when it returns (R6). In that order, a sign-in
// that raced the command either stored its session before the logout
// everywhere, which ends it, or reads the changed account when it checks
// it again after storing the session (Server.accountHolds), and ends it
// itself. Each logs its audit event with the operator that ctx names
// (signoff.WithOperator). An account that no longer exists is
// signoff.ErrNotFound.

// DisableUser disables u's account, so that it cannot sign in, and ends
// every session and refresh token of the user; it returns how many
// sessions it ended. If ending them fails, the account stays disabled and
// calling DisableUser again finishes the job.
func (a *Admin) DisableUser(ctx context.Context, u *signoff.User) (int, error) {
	if err := a.Users.SetDisabled(ctx, u.ID, true); err != nil {
		return 0, err
	}
	a.event(ctx, eventUserDisabled, u.ID)
	n, err := a.Manager.RevokeUser(signoff.WithAction(ctx, eventUserDisabled), u.ID)
	if err != nil {
		return 0, fmt.Errorf("%s is disabled, but its sessions may not all have ended (%w); run the command again", u.Email, err)
	}
	return n, nil
}

// EnableUser lets a disabled account sign in again. The sessions that
// ended when it was disabled stay ended.
func (a *Admin) EnableUser(ctx context.Context, u *signoff.User) error {
	if err := a.Users.SetDisabled(ctx, u.ID, false); err != nil {
		return err
	}
	a.event(ctx, eventUserEnabled, u.ID)
	a.notice(signoff.WithAction(ctx, eventUserEnabled), u.ID)
	return nil
}

// Deleted is what DeleteUser did.
type Deleted struct {
	// Revoked is how many live sessions it ended.
	Revoked int
	// Records is how many session records (live, expired or revoked, with
	// their refresh tokens) it deleted, or -1 when the session store
	// keeps them until they expire (Redis: they are revoked, and their
	// keys' TTLs remove them).
	Records int
}

// DeleteUser deletes u's account: it disables it, ends every session and
// refresh token of the user, deletes the account (the email is free for a
// new one; the user's auth_version stays, so no access token minted before
// comes back to life) and deletes the user's session records when the
// session store can (signoff.SessionDeleter). A failure before the account
// is deleted leaves it disabled: calling DeleteUser again finishes the job.
func (a *Admin) DeleteUser(ctx context.Context, u *signoff.User) (Deleted, error) {
	d := Deleted{Records: -1}
	if err := a.Users.SetDisabled(ctx, u.ID, true); err != nil {
		return d, err
	}
	n, err := a.Manager.RevokeUser(signoff.WithAction(ctx, eventUserDeleted), u.ID)
	if err != nil {
		return d, fmt.Errorf("%s is disabled, not deleted: its sessions may not all have ended (%w); run the command again", u.Email, err)
	}
	d.Revoked = n
	if err := a.Users.DeleteUser(ctx, u.ID); err != nil {
		return d, fmt.Errorf("%s is disabled and signed out everywhere, not deleted (%w); run the command again", u.Email, err)
	}
	a.event(ctx, eventUserDeleted, u.ID)
	if sd, ok := a.Sessions.(signoff.SessionDeleter); ok {
		m, err := sd.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return d, fmt.Errorf("%s is deleted and its sessions ended, but their records are left (%w)", u.Email, err)
		}
		d.Records = m
	}
	return d, nil
}

// SetPassword gives u's account the new password, checked by the rules of
// registration (a bad one is a *signoff.StatusError, 400) and hashed with
// pw, and, unless keepSessions, ends every session and refresh token of
// the user; it returns how many sessions it ended.
func (a *Admin) SetPassword(ctx context.Context, u *signoff.User, pw *Hasher, password string, keepSessions bool) (int, error) {
	if err := checkPassword(password); err != nil {
		return 0, &signoff.StatusError{Status: 400, Detail: err.Error()}
	}
	hash, err := pw.hash(ctx, password)
	if err != nil {
		return 0, err
	}
	if err := a.Users.SetPassword(ctx, u.ID, hash); err != nil {
		return 0, err
	}
	a.event(ctx, eventUserPasswordSet, u.ID)
	ctx = signoff.WithAction(ctx, eventUserPasswordSet)
	if keepSessions {
		a.notice(ctx, u.ID)
		return 0, nil
	}
	n, err := a.Manager.RevokeUser(ctx, u.ID)
	if err != nil {
		return 0, fmt.Errorf("the new password of %s is set, but its sessions may not all have ended (%w); run 'signoff users logout-all %s'", u.Email, err, u.Email)
	}
	return n, nil
}
