package signoff

import (
	"context"
	"sync"
	"time"
)

// A Revocation tells every instance to stop trusting what its memory holds
// about a session, or about all of a user's sessions.
type Revocation struct {
	// SessionID, when set, names one revoked session: logout, device revoke,
	// or refresh-token reuse.
	SessionID string
	// UserID is the session's user, or the user whose sessions were all
	// revoked.
	UserID string
	// AuthVersion, when not 0, is the user's new auth_version after logout
	// everywhere: every credential minted under an earlier one is dead.
	AuthVersion int64
	// Until is the latest time any credential of the session could still be
	// presented as valid; instances hold the revocation in memory until then.
	Until time.Time
	// Pending names a logout everywhere of UserID. Published without
	// AuthVersion, it says the logout is under way: every instance reads
	// the user's credentials through to the store, so a store write that
	// commits is honoured everywhere even if nothing more is heard.
	// Published again with the new AuthVersion, it says the logout is
	// done. An instance that never hears the end settles it from the
	// store (Manager) or, at the latest, forgets it at Until.
	Pending string
	// Operator names the administrator whose command made the revocation
	// (WithOperator), so that every instance's log can say who; empty for
	// a user's own.
	Operator string
	// Action names what the administrator did (the admin command's event:
	// user.disabled, keys.rotated, …; WithAction), for the same logs. A
	// revocation with an Action and nothing to revoke is a notice: it
	// changes nothing an instance holds (users enable, say).
	Action string
	// Keys, when not 0, is no revocation of a credential: the jwt key set
	// kept in the shared store changed to this version (a rotation, or a
	// key revoked), and every instance loads it before it acknowledges.
	Keys int64
}

// A Bus carries revocations between the instances that share a store. The
// Manager publishes before it writes the store and answers only after the
// publishes it needs have returned, so a logout is final everywhere when the
// response leaves (invariant I1); the package documentation's "Revocation
// order" says how each kind of revocation is sequenced.
type Bus interface {
	// Publish delivers r to every live subscriber, on every instance, this
	// one included, and returns once each has applied it. An error means
	// that could not be confirmed; the caller answers 503.
	Publish(ctx context.Context, r Revocation) error

	// Subscribe registers apply to be called with every revocation
	// published by any instance. apply must be quick and must not block.
	Subscribe(apply func(Revocation)) error

	// Fresh reports whether this instance's subscription is known to be
	// receiving everything published. While it is not, the Manager trusts
	// nothing in memory and reads every credential through to the store.
	Fresh() bool
}

// LocalBus is the in-process Bus: enough for one process, which is every
// deployment on an embedded store that only one process writes. The zero
// value is ready to use.
type LocalBus struct {
	mu   sync.RWMutex
	subs []func(Revocation)
}

// Publish calls every subscriber in turn before returning.
func (b *LocalBus) Publish(_ context.Context, r Revocation) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, apply := range b.subs {
		apply(r)
	}
	return nil
}

// Subscribe adds apply.
func (b *LocalBus) Subscribe(apply func(Revocation)) error {
	b.mu.Lock()
	b.subs = append(b.subs, apply)
	b.mu.Unlock()
	return nil
}

// Fresh is always true: nothing can be published without passing through
// Publish.
func (b *LocalBus) Fresh() bool { return true }
