package storetest

import (
	"context"
	"time"

	"github.com/signoff/signoff"
)

// FaultStore wraps a store to inject faults: every call first asks Fault,
// and an error Fault returns is the call's, without the store being
// called. A test gives it to a Manager or a server in place of the store
// to stage an outage or one failing write; the store itself has no hook.
//
// A FaultStore has the methods of signoff.UserStore too, forwarded to
// Users, so one value can stand for a store that keeps both (a server's
// Sessions and Users). With Users nil, calling them panics.
type FaultStore struct {
	Store signoff.Store     // where the signoff.Store methods go
	Users signoff.UserStore // where the signoff.UserStore methods go; may be nil

	// Fault, when not nil, is called before every method with the
	// method's name ("RevokeSession"). It must be safe for concurrent
	// use; set it before the FaultStore is shared.
	Fault func(op string) error
}

var (
	_ signoff.Store     = (*FaultStore)(nil)
	_ signoff.UserStore = (*FaultStore)(nil)
)

func (f *FaultStore) fault(op string) error {
	if f.Fault == nil {
		return nil
	}
	return f.Fault(op)
}

// CreateSession implements signoff.Store.
func (f *FaultStore) CreateSession(ctx context.Context, s *signoff.Session, rt *signoff.RefreshToken) error {
	if err := f.fault("CreateSession"); err != nil {
		return err
	}
	return f.Store.CreateSession(ctx, s, rt)
}

// SessionByToken implements signoff.Store.
func (f *FaultStore) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	if err := f.fault("SessionByToken"); err != nil {
		return nil, err
	}
	return f.Store.SessionByToken(ctx, h, now)
}

// Session implements signoff.Store.
func (f *FaultStore) Session(ctx context.Context, id string, now time.Time) (*signoff.Session, error) {
	if err := f.fault("Session"); err != nil {
		return nil, err
	}
	return f.Store.Session(ctx, id, now)
}

// ListSessions implements signoff.Store.
func (f *FaultStore) ListSessions(ctx context.Context, userID string, now time.Time) ([]*signoff.Session, error) {
	if err := f.fault("ListSessions"); err != nil {
		return nil, err
	}
	return f.Store.ListSessions(ctx, userID, now)
}

// TouchSessions implements signoff.Store.
func (f *FaultStore) TouchSessions(ctx context.Context, ts []signoff.Touch) error {
	if err := f.fault("TouchSessions"); err != nil {
		return err
	}
	return f.Store.TouchSessions(ctx, ts)
}

// RevokeSession implements signoff.Store.
func (f *FaultStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if err := f.fault("RevokeSession"); err != nil {
		return err
	}
	return f.Store.RevokeSession(ctx, id, at)
}

// RevokeUserSessions implements signoff.Store.
func (f *FaultStore) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, int64, error) {
	if err := f.fault("RevokeUserSessions"); err != nil {
		return 0, 0, err
	}
	return f.Store.RevokeUserSessions(ctx, userID, at)
}

// AuthVersion implements signoff.Store.
func (f *FaultStore) AuthVersion(ctx context.Context, userID string) (int64, error) {
	if err := f.fault("AuthVersion"); err != nil {
		return 0, err
	}
	return f.Store.AuthVersion(ctx, userID)
}

// RefreshToken implements signoff.Store.
func (f *FaultStore) RefreshToken(ctx context.Context, h signoff.Hash) (*signoff.RefreshToken, error) {
	if err := f.fault("RefreshToken"); err != nil {
		return nil, err
	}
	return f.Store.RefreshToken(ctx, h)
}

// RotateRefreshToken implements signoff.Store.
func (f *FaultStore) RotateRefreshToken(ctx context.Context, parent signoff.Hash, child *signoff.RefreshToken, grace time.Duration) (*signoff.Rotation, error) {
	if err := f.fault("RotateRefreshToken"); err != nil {
		return nil, err
	}
	return f.Store.RotateRefreshToken(ctx, parent, child, grace)
}

// Ping implements signoff.Store. It pings Store only, even when Users is
// another store: give a server two FaultStores to stage an outage of each.
func (f *FaultStore) Ping(ctx context.Context) error {
	if err := f.fault("Ping"); err != nil {
		return err
	}
	return f.Store.Ping(ctx)
}

// CreateUser implements signoff.UserStore.
func (f *FaultStore) CreateUser(ctx context.Context, u *signoff.User) error {
	if err := f.fault("CreateUser"); err != nil {
		return err
	}
	return f.Users.CreateUser(ctx, u)
}

// UserByEmail implements signoff.UserStore.
func (f *FaultStore) UserByEmail(ctx context.Context, email string) (*signoff.User, error) {
	if err := f.fault("UserByEmail"); err != nil {
		return nil, err
	}
	return f.Users.UserByEmail(ctx, email)
}

// UserByID implements signoff.UserStore.
func (f *FaultStore) UserByID(ctx context.Context, id string) (*signoff.User, error) {
	if err := f.fault("UserByID"); err != nil {
		return nil, err
	}
	return f.Users.UserByID(ctx, id)
}

// SetPassword implements signoff.UserStore.
func (f *FaultStore) SetPassword(ctx context.Context, userID, passwordHash string) error {
	if err := f.fault("SetPassword"); err != nil {
		return err
	}
	return f.Users.SetPassword(ctx, userID, passwordHash)
}

// ListUsers implements signoff.UserStore.
func (f *FaultStore) ListUsers(ctx context.Context) ([]*signoff.User, error) {
	if err := f.fault("ListUsers"); err != nil {
		return nil, err
	}
	return f.Users.ListUsers(ctx)
}

// SetDisabled implements signoff.UserStore.
func (f *FaultStore) SetDisabled(ctx context.Context, userID string, disabled bool) error {
	if err := f.fault("SetDisabled"); err != nil {
		return err
	}
	return f.Users.SetDisabled(ctx, userID, disabled)
}

// DeleteUser implements signoff.UserStore.
func (f *FaultStore) DeleteUser(ctx context.Context, userID string) error {
	if err := f.fault("DeleteUser"); err != nil {
		return err
	}
	return f.Users.DeleteUser(ctx, userID)
}
