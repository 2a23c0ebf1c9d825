// Package storetest is the conformance suite every signoff.Store passes.
// A store's own test calls Run with a constructor that returns an empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) signoff.Store { return memstore.New() })
//	}
//
// Stores that also implement signoff.UserStore get its rules checked too,
// and those that implement signoff.SessionDeleter, that one's.
// Run the suite with -race: several checks race goroutines on purpose.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// base is a clock reading with whole seconds, so stores that keep
// microseconds compare exactly.
var base = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// Run runs every check against stores made by newStore. Each check gets a
// store of its own.
func Run(t *testing.T, newStore func(t *testing.T) signoff.Store) {
	checks := []struct {
		name string
		fn   func(*testing.T, signoff.Store)
	}{
		{"MissingKeys", testMissing},
		{"CreateAndRead", testCreateAndRead},
		{"CreateSetsAuthVersion", testCreateSetsAuthVersion},
		{"DuplicateIsAnError", testDuplicate},
		{"ExpiryInvisible", testExpiry},
		{"RevokeIdempotent", testRevokeIdempotent},
		{"RevokeAllForUser", testRevokeUser},
		{"ListSessions", testList},
		{"Touch", testTouch},
		{"Rotate", testRotate},
		{"GraceRetryReturnsSameChild", testGraceRetry},
		{"ReuseAfterGrace", testReuseAfterGrace},
		{"GrandparentIsReuse", testGrandparent},
		{"NewSiblingIsReuse", testSibling},
		{"ConcurrentRotationHasOneWinner", testConcurrentRotation},
		{"RefreshTokenExpires", testRefreshExpiry},
		{"RotateRevokedFamily", testRotateRevoked},
		{"ConcurrentRevokeAndRotate", testConcurrentRevokeAndRotate},
		{"ConcurrentRevokeUserAndRotate", testConcurrentRevokeUserAndRotate},
		{"Ping", func(t *testing.T, s signoff.Store) { ok(t, s.Ping(context.Background())) }},
		{"DeleteUserSessions", testDeleteUserSessions},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
	userChecks := []struct {
		name string
		fn   func(*testing.T, signoff.Store, signoff.UserStore)
	}{
		{"Users", testUsers},
		{"SetPassword", testSetPassword},
		{"ListUsers", testListUsers},
		{"SetDisabled", testSetDisabled},
		{"DeleteUser", testDeleteUser},
	}
	for _, c := range userChecks {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			us, isUsers := s.(signoff.UserStore)
			if !isUsers {
				t.Skip("the store does not implement signoff.UserStore")
			}
			c.fn(t, s, us)
		})
	}
}

var ctx = context.Background()

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, signoff.ErrNotFound) {
		t.Fatalf("%s: want ErrNotFound, got %v", what, err)
	}
}

func rnd(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func hashOf(s string) signoff.Hash { return signoff.HashString(s) }

// newSession returns a session-mode session of user u, created at base.
// createUser stores a new account with a random ID and email and the
// password hash hash.
func createUser(t *testing.T, us signoff.UserStore, hash string) *signoff.User {
	t.Helper()
	u := &signoff.User{ID: rnd("usr_"), Email: rnd("u") + "@example.test", PasswordHash: hash, CreatedAt: base}
	ok(t, us.CreateUser(ctx, u))
	return u
}

func newSession(u string) *signoff.Session {
	return &signoff.Session{
		ID: rnd("ses_"), UserID: u, TokenHash: hashOf(rnd("tok")),
		CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour),
		UserAgent: "storetest/1", IP: "127.0.0.1",
	}
}

// newFamily creates a jwt-mode session of user u with its first refresh
// token, and returns both.
func newFamily(t *testing.T, s signoff.Store, u string) (*signoff.Session, *signoff.RefreshToken) {
	t.Helper()
	sess := newSession(u)
	sess.TokenHash = signoff.Hash{}
	rt := &signoff.RefreshToken{JTI: rnd("rt_"), SessionID: sess.ID, Hash: hashOf(rnd("rt")), IssuedAt: base, ExpiresAt: base.Add(30 * time.Minute)}
	ok(t, s.CreateSession(ctx, sess, rt))
	return sess, rt
}

func child(at time.Time) *signoff.RefreshToken {
	return &signoff.RefreshToken{JTI: rnd("rt_"), Hash: hashOf(rnd("rt")), IssuedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
}

func sameSession(t *testing.T, got, want *signoff.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.TokenHash != want.TokenHash ||
		got.AuthVersion != want.AuthVersion || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.LastSeenAt.Equal(want.LastSeenAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.RevokedAt.Equal(want.RevokedAt) || got.UserAgent != want.UserAgent || got.IP != want.IP {
		t.Fatalf("session differs:\n got %+v\nwant %+v", *got, *want)
	}
}

func testMissing(t *testing.T, s signoff.Store) {
	_, err := s.SessionByToken(ctx, hashOf("nope"), base)
	notFound(t, "SessionByToken", err)
	_, err = s.Session(ctx, "ses_nope", base)
	notFound(t, "Session", err)
	_, err = s.RefreshToken(ctx, hashOf("nope"))
	notFound(t, "RefreshToken", err)
	_, err = s.RotateRefreshToken(ctx, hashOf("nope"), child(base), 10*time.Second)
	notFound(t, "RotateRefreshToken", err)
	av, err := s.AuthVersion(ctx, "usr_nope")
	ok(t, err)
	if av != 0 {
		t.Fatalf("AuthVersion of an unknown user = %d, want 0", av)
	}
	list, err := s.ListSessions(ctx, "usr_nope", base)
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("ListSessions of an unknown user returned %d", len(list))
	}
	ok(t, s.TouchSessions(ctx, []signoff.Touch{{SessionID: "ses_nope", At: base}}))
	ok(t, s.TouchSessions(ctx, nil))
	ok(t, s.RevokeSession(ctx, "ses_nope", base))
}

func testCreateAndRead(t *testing.T, s signoff.Store) {
	u := rnd("usr_")
	want := newSession(u)
	ok(t, s.CreateSession(ctx, want, nil))
	got, err := s.SessionByToken(ctx, want.TokenHash, base)
	ok(t, err)
	sameSession(t, got, want)
	got, err = s.Session(ctx, want.ID, base.Add(time.Minute))
	ok(t, err)
	sameSession(t, got, want)

	sess, rt := newFamily(t, s, u)
	got, err = s.Session(ctx, sess.ID, base)
	ok(t, err)
	sameSession(t, got, sess)
	gotRT, err := s.RefreshToken(ctx, rt.Hash)
	ok(t, err)
	if gotRT.JTI != rt.JTI || gotRT.SessionID != sess.ID || gotRT.Hash != rt.Hash ||
		!gotRT.IssuedAt.Equal(rt.IssuedAt) || !gotRT.ExpiresAt.Equal(rt.ExpiresAt) ||
		!gotRT.RevokedAt.IsZero() || gotRT.ReplacedBy != "" {
		t.Fatalf("refresh token differs:\n got %+v\nwant %+v", *gotRT, *rt)
	}
	// A jwt-mode session has no token hash: it must not be found by the zero hash.
	_, err = s.SessionByToken(ctx, signoff.Hash{}, base)
	notFound(t, "SessionByToken(zero hash)", err)
}

func testCreateSetsAuthVersion(t *testing.T, s signoff.Store) {
	u := rnd("usr_")
	a := newSession(u)
	ok(t, s.CreateSession(ctx, a, nil))
	if a.AuthVersion != 0 {
		t.Fatalf("AuthVersion of a new user's session = %d, want 0", a.AuthVersion)
	}
	_, av, err := s.RevokeUserSessions(ctx, u, base)
	ok(t, err)
	b := newSession(u)
	b.AuthVersion = 99 // the store decides, not the caller
	ok(t, s.CreateSession(ctx, b, nil))
	if b.AuthVersion != av {
		t.Fatalf("CreateSession set AuthVersion %d, want the user's %d", b.AuthVersion, av)
	}
	got, err := s.Session(ctx, b.ID, base)
	ok(t, err)
	if got.AuthVersion != av {
		t.Fatalf("stored AuthVersion %d, want %d", got.AuthVersion, av)
	}
}

func testDuplicate(t *testing.T, s signoff.Store) {
	a := newSession(rnd("usr_"))
	ok(t, s.CreateSession(ctx, a, nil))
	b := newSession(a.UserID)
	b.ID = a.ID
	if err := s.CreateSession(ctx, b, nil); err == nil || errors.Is(err, signoff.ErrNotFound) {
		t.Fatalf("a duplicate session ID: want a system error, got %v", err)
	}
	c := newSession(a.UserID)
	c.TokenHash = a.TokenHash
	if err := s.CreateSession(ctx, c, nil); err == nil {
		t.Fatal("a duplicate token hash was accepted")
	}
	// The failed creations changed nothing.
	got, err := s.SessionByToken(ctx, a.TokenHash, base)
	ok(t, err)
	sameSession(t, got, a)
}

func testExpiry(t *testing.T, s signoff.Store) {
	a := newSession(rnd("usr_"))
	ok(t, s.CreateSession(ctx, a, nil))
	justBefore := a.ExpiresAt.Add(-time.Millisecond)
	_, err := s.SessionByToken(ctx, a.TokenHash, justBefore)
	ok(t, err)
	_, err = s.SessionByToken(ctx, a.TokenHash, a.ExpiresAt)
	notFound(t, "SessionByToken at ExpiresAt", err)
	_, err = s.Session(ctx, a.ID, a.ExpiresAt.Add(time.Hour))
	notFound(t, "Session after ExpiresAt", err)
	list, err := s.ListSessions(ctx, a.UserID, a.ExpiresAt)
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("ListSessions shows %d expired sessions", len(list))
	}
}

func testRevokeIdempotent(t *testing.T, s signoff.Store) {
	sess, rt := newFamily(t, s, rnd("usr_"))
	at := base.Add(time.Minute)
	ok(t, s.RevokeSession(ctx, sess.ID, at))
	ok(t, s.RevokeSession(ctx, sess.ID, at.Add(time.Minute)))
	_, err := s.Session(ctx, sess.ID, at)
	notFound(t, "Session after revoke", err)
	got, err := s.RefreshToken(ctx, rt.Hash)
	ok(t, err)
	if got.RevokedAt.IsZero() {
		t.Fatal("revoking a session left its refresh token unrevoked")
	}
	_, err = s.RotateRefreshToken(ctx, rt.Hash, child(at), 10*time.Second)
	notFound(t, "RotateRefreshToken after revoke", err)

	a := newSession(rnd("usr_"))
	ok(t, s.CreateSession(ctx, a, nil))
	ok(t, s.RevokeSession(ctx, a.ID, at))
	_, err = s.SessionByToken(ctx, a.TokenHash, at)
	notFound(t, "SessionByToken after revoke", err)
}

// testRevokeUser: logout everywhere ends every live session of the user,
// cookie and jwt, and nothing of anyone else's; it counts what was live;
// what it ended stays ended whatever is done to it afterwards, and a
// session begun after it is live.
func testRevokeUser(t *testing.T, s signoff.Store) {
	u, other := rnd("usr_"), rnd("usr_")
	var mine []*signoff.Session
	for range 3 {
		x := newSession(u)
		ok(t, s.CreateSession(ctx, x, nil))
		mine = append(mine, x)
	}
	fam, rt := newFamily(t, s, u)
	theirs := newSession(other)
	ok(t, s.CreateSession(ctx, theirs, nil))
	expired := newSession(u)
	expired.ExpiresAt = base.Add(time.Second)
	ok(t, s.CreateSession(ctx, expired, nil))
	gone := newSession(u)
	ok(t, s.CreateSession(ctx, gone, nil))
	ok(t, s.RevokeSession(ctx, gone.ID, base))

	at := base.Add(time.Minute)
	n, av, err := s.RevokeUserSessions(ctx, u, at)
	ok(t, err)
	if n != 4 || av != 1 {
		t.Fatalf("RevokeUserSessions = (%d, %d), want (4, 1): three cookies and one family, not the expired or the revoked one", n, av)
	}
	ended := func(when string) {
		t.Helper()
		for _, x := range mine {
			_, err := s.SessionByToken(ctx, x.TokenHash, at)
			notFound(t, when+": SessionByToken of a session logout everywhere ended", err)
			_, err = s.Session(ctx, x.ID, at)
			notFound(t, when+": Session of a session logout everywhere ended", err)
		}
		_, err = s.Session(ctx, fam.ID, at)
		notFound(t, when+": a jwt session logout everywhere ended", err)
		// Its unspent refresh token is still found (logout by refresh
		// cookie names the session through it) but does not rotate: not
		// found, not reuse, as for any token of a session that is over.
		if got, err := s.RefreshToken(ctx, rt.Hash); err != nil || got.SessionID != fam.ID {
			t.Fatalf("%s: RefreshToken of an ended family: %+v, %v", when, got, err)
		}
		_, err = s.RotateRefreshToken(ctx, rt.Hash, child(at.Add(time.Second)), 10*time.Second)
		notFound(t, when+": rotating the refresh token of a session logout everywhere ended", err)
	}
	ended("after RevokeUserSessions")
	if list, err := s.ListSessions(ctx, u, at); err != nil || len(list) != 0 {
		t.Fatalf("ListSessions after RevokeUserSessions = %d sessions, %v; want none", len(list), err)
	}
	_, err = s.SessionByToken(ctx, theirs.TokenHash, at)
	ok(t, err)
	if got, err := s.AuthVersion(ctx, u); err != nil || got != 1 {
		t.Fatalf("AuthVersion = %d, %v; want 1", got, err)
	}
	if got, err := s.AuthVersion(ctx, other); err != nil || got != 0 {
		t.Fatalf("another user's AuthVersion = %d, %v; want 0", got, err)
	}

	// Touching, revoking or listing what was ended brings nothing back.
	ok(t, s.TouchSessions(ctx, []signoff.Touch{{SessionID: mine[0].ID, At: at.Add(time.Second)}, {SessionID: fam.ID, At: at.Add(time.Second)}}))
	ok(t, s.RevokeSession(ctx, mine[1].ID, at.Add(time.Second)))
	ended("after touching and revoking")

	late := newSession(u)
	late.CreatedAt = at
	ok(t, s.CreateSession(ctx, late, nil))
	if late.AuthVersion != 1 {
		t.Fatalf("a session created after RevokeUserSessions has AuthVersion %d, want 1", late.AuthVersion)
	}
	_, err = s.SessionByToken(ctx, late.TokenHash, at)
	ok(t, err)
	if list, err := s.ListSessions(ctx, u, at); err != nil || len(list) != 1 || list[0].ID != late.ID {
		t.Fatalf("ListSessions after a new sign-in = %d sessions, %v; want only the new one", len(list), err)
	}
	n, av, err = s.RevokeUserSessions(ctx, u, at)
	ok(t, err)
	if n != 1 || av != 2 {
		t.Fatalf("second RevokeUserSessions = (%d, %d), want (1, 2): the session begun since", n, av)
	}
	_, err = s.SessionByToken(ctx, late.TokenHash, at)
	notFound(t, "the late session after the second RevokeUserSessions", err)
	ended("after the second RevokeUserSessions")
	n, av, err = s.RevokeUserSessions(ctx, u, at)
	ok(t, err)
	if n != 0 || av != 3 {
		t.Fatalf("third RevokeUserSessions = (%d, %d), want (0, 3)", n, av)
	}
	n, av, err = s.RevokeUserSessions(ctx, rnd("usr_"), at)
	ok(t, err)
	if n != 0 || av != 1 {
		t.Fatalf("RevokeUserSessions of an unseen user = (%d, %d), want (0, 1)", n, av)
	}
}

func testList(t *testing.T, s signoff.Store) {
	u := rnd("usr_")
	var ids []string
	for i := range 3 {
		x := newSession(u)
		x.CreatedAt = base.Add(time.Duration(i) * time.Second)
		ok(t, s.CreateSession(ctx, x, nil))
		ids = append(ids, x.ID)
	}
	ok(t, s.CreateSession(ctx, newSession(rnd("usr_")), nil))
	ok(t, s.RevokeSession(ctx, ids[1], base.Add(time.Minute)))
	list, err := s.ListSessions(ctx, u, base.Add(time.Minute))
	ok(t, err)
	if len(list) != 2 || list[0].ID != ids[2] || list[1].ID != ids[0] {
		got := []string{}
		for _, x := range list {
			got = append(got, x.ID)
		}
		t.Fatalf("ListSessions = %v, want [%s %s] (newest first, revoked left out)", got, ids[2], ids[0])
	}
}

// testTouch: one call touches several sessions; of several touches of one
// session the latest counts, in one call or across calls; a revoked or
// missing session is skipped without failing the others.
func testTouch(t *testing.T, s signoff.Store) {
	a, b, gone := newSession(rnd("usr_")), newSession(rnd("usr_")), newSession(rnd("usr_"))
	for _, x := range []*signoff.Session{a, b, gone} {
		ok(t, s.CreateSession(ctx, x, nil))
	}
	ok(t, s.RevokeSession(ctx, gone.ID, base))
	later, latest := base.Add(90*time.Second), base.Add(100*time.Second)
	ok(t, s.TouchSessions(ctx, []signoff.Touch{
		{SessionID: "ses_nope", At: later},
		{SessionID: a.ID, At: latest},
		{SessionID: gone.ID, At: later},
		{SessionID: a.ID, At: later}, // older than the one before: ignored
		{SessionID: b.ID, At: later},
	}))
	ok(t, s.TouchSessions(ctx, []signoff.Touch{{SessionID: b.ID, At: base.Add(time.Second)}})) // older: ignored
	for _, c := range []struct {
		s    *signoff.Session
		want time.Time
	}{{a, latest}, {b, later}} {
		got, err := s.Session(ctx, c.s.ID, later)
		ok(t, err)
		if !got.LastSeenAt.Equal(c.want) {
			t.Fatalf("LastSeenAt = %v, want %v", got.LastSeenAt, c.want)
		}
	}
}

func testRotate(t *testing.T, s signoff.Store) {
	sess, rt := newFamily(t, s, rnd("usr_"))
	at := base.Add(5 * time.Minute)
	c := child(at)
	c.ExpiresAt = sess.ExpiresAt.Add(time.Hour) // must be capped
	rot, err := s.RotateRefreshToken(ctx, rt.Hash, c, 10*time.Second)
	ok(t, err)
	if rot.Retry {
		t.Fatal("a first rotation reported Retry")
	}
	if rot.Session.ID != sess.ID || rot.Child.JTI != c.JTI || rot.Child.SessionID != sess.ID || rot.Child.Hash != c.Hash {
		t.Fatalf("rotation = %+v / %+v", *rot.Session, *rot.Child)
	}
	if !rot.Child.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("child ExpiresAt = %v, want it capped at the session's %v", rot.Child.ExpiresAt, sess.ExpiresAt)
	}
	if !rot.Session.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatal("rotation changed the session's absolute lifetime")
	}
	parent, err := s.RefreshToken(ctx, rt.Hash)
	ok(t, err)
	if parent.RevokedAt.IsZero() || parent.ReplacedBy != c.JTI {
		t.Fatalf("the parent after rotation: %+v; want it spent and replaced by %s", *parent, c.JTI)
	}
	stored, err := s.RefreshToken(ctx, c.Hash)
	ok(t, err)
	if stored.SessionID != sess.ID || !stored.RevokedAt.IsZero() {
		t.Fatalf("the stored child: %+v", *stored)
	}
	got, err := s.Session(ctx, sess.ID, at)
	ok(t, err)
	if !got.LastSeenAt.Equal(at) {
		t.Fatalf("LastSeenAt after rotation = %v, want %v", got.LastSeenAt, at)
	}
	// The child rotates in turn.
	c2 := child(at.Add(time.Minute))
	rot, err = s.RotateRefreshToken(ctx, c.Hash, c2, 10*time.Second)
	ok(t, err)
	if rot.Retry || rot.Child.JTI != c2.JTI {
		t.Fatalf("second rotation: %+v", *rot.Child)
	}
}

func testGraceRetry(t *testing.T, s signoff.Store) {
	_, rt := newFamily(t, s, rnd("usr_"))
	at := base.Add(time.Minute)
	c := child(at)
	first, err := s.RotateRefreshToken(ctx, rt.Hash, c, 10*time.Second)
	ok(t, err)
	retry := *c
	retry.IssuedAt = at.Add(10 * time.Second) // the edge of the window is inside it
	again, err := s.RotateRefreshToken(ctx, rt.Hash, &retry, 10*time.Second)
	ok(t, err)
	if !again.Retry || again.Child.JTI != first.Child.JTI || again.Child.Hash != first.Child.Hash ||
		!again.Child.IssuedAt.Equal(first.Child.IssuedAt) {
		t.Fatalf("grace retry: got %+v retry=%v, want the first child %+v", *again.Child, again.Retry, *first.Child)
	}
}

func wantReuse(t *testing.T, err error, sess *signoff.Session) {
	t.Helper()
	var re *signoff.ReuseError
	if !errors.As(err, &re) || !errors.Is(err, signoff.ErrRefreshReused) {
		t.Fatalf("want a *ReuseError, got %v", err)
	}
	if re.SessionID != sess.ID || re.UserID != sess.UserID {
		t.Fatalf("ReuseError names %s/%s, want %s/%s", re.SessionID, re.UserID, sess.ID, sess.UserID)
	}
}

func testReuseAfterGrace(t *testing.T, s signoff.Store) {
	sess, rt := newFamily(t, s, rnd("usr_"))
	at := base.Add(time.Minute)
	c := child(at)
	_, err := s.RotateRefreshToken(ctx, rt.Hash, c, 10*time.Second)
	ok(t, err)
	late := *c
	late.IssuedAt = at.Add(10*time.Second + time.Millisecond)
	_, err = s.RotateRefreshToken(ctx, rt.Hash, &late, 10*time.Second)
	wantReuse(t, err, sess)
	// The store changes nothing: revoking the family is the caller's job.
	_, err = s.Session(ctx, sess.ID, late.IssuedAt)
	ok(t, err)
}

func testGrandparent(t *testing.T, s signoff.Store) {
	sess, rt1 := newFamily(t, s, rnd("usr_"))
	at := base.Add(time.Minute)
	c2 := child(at)
	_, err := s.RotateRefreshToken(ctx, rt1.Hash, c2, 10*time.Second)
	ok(t, err)
	c3 := child(at.Add(time.Second))
	_, err = s.RotateRefreshToken(ctx, c2.Hash, c3, 10*time.Second)
	ok(t, err)
	// rt1 again, still inside its own grace window: its child is spent, so
	// this is a grandparent of the newest token, and reuse.
	again := *c2
	again.IssuedAt = at.Add(2 * time.Second)
	_, err = s.RotateRefreshToken(ctx, rt1.Hash, &again, 10*time.Second)
	wantReuse(t, err, sess)
}

func testSibling(t *testing.T, s signoff.Store) {
	sess, rt := newFamily(t, s, rnd("usr_"))
	at := base.Add(time.Minute)
	_, err := s.RotateRefreshToken(ctx, rt.Hash, child(at), 10*time.Second)
	ok(t, err)
	_, err = s.RotateRefreshToken(ctx, rt.Hash, child(at.Add(time.Second)), 10*time.Second)
	wantReuse(t, err, sess)
}

func testConcurrentRotation(t *testing.T, s signoff.Store) {
	_, rt := newFamily(t, s, rnd("usr_"))
	at := base.Add(time.Minute)
	c := child(at)
	const n = 50
	var wg sync.WaitGroup
	results := make([]*signoff.Rotation, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := *c
			results[i], errs[i] = s.RotateRefreshToken(ctx, rt.Hash, &mine, 10*time.Second)
		}()
	}
	wg.Wait()
	winners := 0
	for i := range n {
		ok(t, errs[i])
		if results[i].Child.JTI != c.JTI || results[i].Child.Hash != c.Hash {
			t.Fatalf("call %d got child %s, want %s", i, results[i].Child.JTI, c.JTI)
		}
		if !results[i].Retry {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d calls rotated; want exactly one winner and %d grace retries", winners, n-1)
	}
}

func testRefreshExpiry(t *testing.T, s signoff.Store) {
	_, rt := newFamily(t, s, rnd("usr_"))
	_, err := s.RotateRefreshToken(ctx, rt.Hash, child(rt.ExpiresAt), 10*time.Second)
	notFound(t, "rotating an unused refresh token at its ExpiresAt", err)
	_, err = s.RotateRefreshToken(ctx, rt.Hash, child(rt.ExpiresAt.Add(-time.Millisecond)), 10*time.Second)
	ok(t, err)
}

func testRotateRevoked(t *testing.T, s signoff.Store) {
	u := rnd("usr_")
	_, rt := newFamily(t, s, u)
	_, _, err := s.RevokeUserSessions(ctx, u, base.Add(time.Second))
	ok(t, err)
	_, err = s.RotateRefreshToken(ctx, rt.Hash, child(base.Add(2*time.Second)), 10*time.Second)
	notFound(t, "rotating a token of a revoked user", err)

	sess, rt := newFamily(t, s, u)
	_, err = s.RotateRefreshToken(ctx, rt.Hash, child(sess.ExpiresAt), 10*time.Second)
	notFound(t, "rotating after the session's absolute lifetime", err)
}

// testConcurrentRevokeAndRotate races a logout against refreshes of the same
// family: whatever the interleaving, once RevokeSession has returned no
// rotation may succeed.
func testConcurrentRevokeAndRotate(t *testing.T, s signoff.Store) {
	for round := range 10 {
		sess, rt := newFamily(t, s, rnd("usr_"))
		at := base.Add(time.Minute)
		var wg sync.WaitGroup
		var revokeErr error // t.Fatal belongs to the test's own goroutine
		wg.Add(2)
		go func() {
			defer wg.Done()
			revokeErr = s.RevokeSession(ctx, sess.ID, at)
		}()
		go func() {
			defer wg.Done()
			parent := rt.Hash
			for i := range 20 {
				c := child(at.Add(time.Duration(i) * time.Millisecond))
				_, err := s.RotateRefreshToken(ctx, parent, c, 10*time.Second)
				if err != nil {
					return
				}
				parent = c.Hash
			}
		}()
		wg.Wait()
		ok(t, revokeErr)
		_, err := s.Session(ctx, sess.ID, at)
		notFound(t, fmt.Sprintf("round %d: session after revoke", round), err)
		_, err = s.RotateRefreshToken(ctx, rt.Hash, child(at.Add(time.Second)), 10*time.Second)
		if err == nil {
			t.Fatalf("round %d: a rotation succeeded after RevokeSession returned", round)
		}
	}
}

// testConcurrentRevokeUserAndRotate races a logout everywhere against
// refreshes of one of the user's families: whatever the interleaving, once
// RevokeUserSessions has returned, no token of the family rotates, neither
// the first nor any child a rotation stored, even one that overlapped it.
func testConcurrentRevokeUserAndRotate(t *testing.T, s signoff.Store) {
	for round := range 10 {
		u := rnd("usr_")
		sess, rt := newFamily(t, s, u)
		at := base.Add(time.Minute)
		var (
			wg        sync.WaitGroup
			revokeErr error
			held      = []signoff.Hash{rt.Hash} // every token the refresher was given
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, _, revokeErr = s.RevokeUserSessions(ctx, u, at)
		}()
		go func() {
			defer wg.Done()
			parent := rt.Hash
			for i := range 20 {
				c := child(at.Add(time.Duration(i) * time.Millisecond))
				if _, err := s.RotateRefreshToken(ctx, parent, c, 10*time.Second); err != nil {
					return
				}
				held = append(held, c.Hash)
				parent = c.Hash
			}
		}()
		wg.Wait()
		ok(t, revokeErr)
		_, err := s.Session(ctx, sess.ID, at)
		notFound(t, fmt.Sprintf("round %d: session after RevokeUserSessions", round), err)
		for i, h := range held {
			_, err := s.RotateRefreshToken(ctx, h, child(at.Add(time.Second)), 10*time.Second)
			notFound(t, fmt.Sprintf("round %d: token %d of %d after RevokeUserSessions returned", round, i+1, len(held)), err)
		}
	}
}

func testUsers(t *testing.T, s signoff.Store, us signoff.UserStore) {
	email := rnd("u") + "@example.test"
	u := &signoff.User{ID: rnd("usr_"), Email: email, PasswordHash: "$argon2id$fake", CreatedAt: base}
	ok(t, us.CreateUser(ctx, u))
	dup := &signoff.User{ID: rnd("usr_"), Email: email, PasswordHash: "x", CreatedAt: base}
	if err := us.CreateUser(ctx, dup); !errors.Is(err, signoff.ErrEmailTaken) {
		t.Fatalf("a second user with the same email: want ErrEmailTaken, got %v", err)
	}
	got, err := us.UserByEmail(ctx, email)
	ok(t, err)
	if got.ID != u.ID || got.Email != email || got.PasswordHash != u.PasswordHash || !got.CreatedAt.Equal(base) || got.AuthVersion != 0 {
		t.Fatalf("UserByEmail = %+v", *got)
	}
	_, err = us.UserByEmail(ctx, "nobody@example.test")
	notFound(t, "UserByEmail", err)
	_, err = us.UserByID(ctx, "usr_nope")
	notFound(t, "UserByID", err)
	// auth_version lives with the user.
	_, av, err := s.RevokeUserSessions(ctx, u.ID, base)
	ok(t, err)
	got, err = us.UserByID(ctx, u.ID)
	ok(t, err)
	if got.AuthVersion != av {
		t.Fatalf("the user's AuthVersion = %d after RevokeUserSessions returned %d", got.AuthVersion, av)
	}
	// A user whose auth_version was bumped before the account existed (an
	// application that keeps its own users) can still be created later.
	early := rnd("usr_")
	_, _, err = s.RevokeUserSessions(ctx, early, base)
	ok(t, err)
	ok(t, us.CreateUser(ctx, &signoff.User{ID: early, Email: rnd("e") + "@example.test", PasswordHash: "x", CreatedAt: base}))
	got, err = us.UserByID(ctx, early)
	ok(t, err)
	if got.AuthVersion != 1 {
		t.Fatalf("AuthVersion of a user bumped before creation = %d, want 1", got.AuthVersion)
	}
}

// testSetPassword: SetPassword replaces the hash of that user only, leaves
// the rest of the account and its sessions alone, may be repeated, and is
// ErrNotFound for an unknown user and for a user that is only an
// auth_version (no account).
func testSetPassword(t *testing.T, s signoff.Store, us signoff.UserStore) {
	u, other := createUser(t, us, "$argon2id$old"), createUser(t, us, "$argon2id$other")
	sess := newSession(u.ID)
	ok(t, s.CreateSession(ctx, sess, nil))
	_, av, err := s.RevokeUserSessions(ctx, other.ID, base)
	ok(t, err)

	ok(t, us.SetPassword(ctx, u.ID, "$argon2id$new"))
	got, err := us.UserByID(ctx, u.ID)
	ok(t, err)
	if got.PasswordHash != "$argon2id$new" || got.Email != u.Email || !got.CreatedAt.Equal(base) || got.AuthVersion != 0 {
		t.Fatalf("after SetPassword, UserByID = %+v", *got)
	}
	got, err = us.UserByEmail(ctx, u.Email)
	ok(t, err)
	if got.PasswordHash != "$argon2id$new" {
		t.Fatal("UserByEmail still has the old password hash")
	}
	ok(t, us.SetPassword(ctx, u.ID, "$argon2id$new")) // the same hash again
	got, err = us.UserByID(ctx, other.ID)
	ok(t, err)
	if got.PasswordHash != other.PasswordHash || got.AuthVersion != av {
		t.Fatalf("SetPassword of one user changed another: %+v", *got)
	}
	if _, err := s.Session(ctx, sess.ID, base); err != nil {
		t.Fatalf("SetPassword ended the user's session: %v", err)
	}

	notFound(t, "SetPassword of an unknown user", us.SetPassword(ctx, rnd("usr_"), "x"))
	bare := rnd("usr_") // an auth_version with no account
	_, _, err = s.RevokeUserSessions(ctx, bare, base)
	ok(t, err)
	notFound(t, "SetPassword of a user that is only an auth_version", us.SetPassword(ctx, bare, "x"))
	_, err = us.UserByID(ctx, bare)
	notFound(t, "UserByID after SetPassword of a user that is only an auth_version", err)
}

// sameUser fails the test when got is not want, field by field.
func sameUser(t *testing.T, what string, got, want *signoff.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.PasswordHash != want.PasswordHash ||
		got.AuthVersion != want.AuthVersion || !got.CreatedAt.Equal(want.CreatedAt) || got.Disabled != want.Disabled {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, *got, *want)
	}
}

// testListUsers: ListUsers returns every account, oldest first and by ID
// for one creation time, with all its fields; a row that only holds an
// auth_version is no account; an empty store lists none.
func testListUsers(t *testing.T, s signoff.Store, us signoff.UserStore) {
	list, err := us.ListUsers(ctx)
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("ListUsers of an empty store = %d users", len(list))
	}
	mk := func(id string, created time.Time) *signoff.User {
		u := &signoff.User{ID: id, Email: rnd("u") + "@example.test", PasswordHash: "$argon2id$" + id, CreatedAt: created}
		ok(t, us.CreateUser(ctx, u))
		return u
	}
	newest := mk("usr_3", base.Add(time.Hour))
	second := mk("usr_2b", base)
	oldest := mk("usr_1", base.Add(-time.Hour))
	first := mk("usr_2a", base) // created when second was: by ID
	// An auth_version with no account.
	_, _, err = s.RevokeUserSessions(ctx, rnd("usr_"), base)
	ok(t, err)
	_, av, err := s.RevokeUserSessions(ctx, second.ID, base)
	ok(t, err)
	second.AuthVersion = av
	ok(t, us.SetDisabled(ctx, newest.ID, true))
	newest.Disabled = true

	list, err = us.ListUsers(ctx)
	ok(t, err)
	want := []*signoff.User{oldest, first, second, newest}
	if len(list) != len(want) {
		var got []string
		for _, u := range list {
			got = append(got, u.ID)
		}
		t.Fatalf("ListUsers = %v, want the 4 accounts", got)
	}
	for i, u := range want {
		sameUser(t, fmt.Sprintf("ListUsers()[%d]", i), list[i], u)
	}
}

// testSetDisabled: SetDisabled sets and clears the flag of that user only,
// may be repeated, leaves the rest of the account and its sessions alone,
// and is ErrNotFound for an unknown user and for one that is only an
// auth_version. A new account is not disabled.
func testSetDisabled(t *testing.T, s signoff.Store, us signoff.UserStore) {
	u, other := createUser(t, us, "$argon2id$u"), createUser(t, us, "$argon2id$o")
	sess := newSession(u.ID)
	ok(t, s.CreateSession(ctx, sess, nil))
	got, err := us.UserByID(ctx, u.ID)
	ok(t, err)
	sameUser(t, "a new account", got, u)

	ok(t, us.SetDisabled(ctx, u.ID, true))
	ok(t, us.SetDisabled(ctx, u.ID, true)) // again
	u.Disabled = true
	got, err = us.UserByID(ctx, u.ID)
	ok(t, err)
	sameUser(t, "UserByID after SetDisabled(true)", got, u)
	got, err = us.UserByEmail(ctx, u.Email)
	ok(t, err)
	sameUser(t, "UserByEmail after SetDisabled(true)", got, u)
	got, err = us.UserByID(ctx, other.ID)
	ok(t, err)
	sameUser(t, "another user after SetDisabled(true)", got, other)
	if _, err := s.Session(ctx, sess.ID, base); err != nil {
		t.Fatalf("SetDisabled ended the user's session: %v", err)
	}

	ok(t, us.SetDisabled(ctx, u.ID, false))
	ok(t, us.SetDisabled(ctx, u.ID, false))
	u.Disabled = false
	got, err = us.UserByEmail(ctx, u.Email)
	ok(t, err)
	sameUser(t, "UserByEmail after SetDisabled(false)", got, u)

	notFound(t, "SetDisabled of an unknown user", us.SetDisabled(ctx, rnd("usr_"), true))
	bare := rnd("usr_")
	_, _, err = s.RevokeUserSessions(ctx, bare, base)
	ok(t, err)
	notFound(t, "SetDisabled of a user that is only an auth_version", us.SetDisabled(ctx, bare, true))
	_, err = us.UserByID(ctx, bare)
	notFound(t, "UserByID after SetDisabled of a user that is only an auth_version", err)
}

// testDeleteUser: DeleteUser removes the account (not found by ID or
// email, not listed, its email free again) and nothing else: the user's
// auth_version and sessions stay. A second delete, an unknown user and one
// that is only an auth_version are ErrNotFound, and so is every change to
// a deleted account.
func testDeleteUser(t *testing.T, s signoff.Store, us signoff.UserStore) {
	u, other := createUser(t, us, "$argon2id$u"), createUser(t, us, "$argon2id$o")
	sess := newSession(u.ID)
	ok(t, s.CreateSession(ctx, sess, nil))
	_, av, err := s.RevokeUserSessions(ctx, u.ID, base)
	ok(t, err)
	live := newSession(u.ID)
	ok(t, s.CreateSession(ctx, live, nil))
	ok(t, us.SetDisabled(ctx, u.ID, true))

	ok(t, us.DeleteUser(ctx, u.ID))
	_, err = us.UserByID(ctx, u.ID)
	notFound(t, "UserByID of a deleted user", err)
	_, err = us.UserByEmail(ctx, u.Email)
	notFound(t, "UserByEmail of a deleted user", err)
	list, err := us.ListUsers(ctx)
	ok(t, err)
	if len(list) != 1 || list[0].ID != other.ID {
		t.Fatalf("ListUsers after DeleteUser = %d users, want only the other one", len(list))
	}
	if got, err := s.AuthVersion(ctx, u.ID); err != nil || got != av {
		t.Fatalf("AuthVersion of a deleted user = %d, %v; want %d: it must stay", got, err, av)
	}
	if _, err := s.Session(ctx, live.ID, base); err != nil {
		t.Fatalf("DeleteUser ended the user's session: %v", err)
	}
	notFound(t, "DeleteUser again", us.DeleteUser(ctx, u.ID))
	notFound(t, "SetPassword of a deleted user", us.SetPassword(ctx, u.ID, "x"))
	notFound(t, "SetDisabled of a deleted user", us.SetDisabled(ctx, u.ID, false))
	notFound(t, "DeleteUser of an unknown user", us.DeleteUser(ctx, rnd("usr_")))
	bare := rnd("usr_")
	_, _, err = s.RevokeUserSessions(ctx, bare, base)
	ok(t, err)
	notFound(t, "DeleteUser of a user that is only an auth_version", us.DeleteUser(ctx, bare))

	// The email is free; the new account is a new user.
	again := &signoff.User{ID: rnd("usr_"), Email: u.Email, PasswordHash: "$argon2id$again", CreatedAt: base.Add(time.Hour)}
	ok(t, us.CreateUser(ctx, again))
	got, err := us.UserByEmail(ctx, u.Email)
	ok(t, err)
	sameUser(t, "the account that took a deleted user's email", got, again)
	// What is left of the deleted user is an auth_version, like a user
	// of an application's own user table: an account made on it (as
	// CreateUser makes one on such a row) keeps the auth_version and is
	// not disabled.
	revived := &signoff.User{ID: u.ID, Email: rnd("r") + "@example.test", PasswordHash: "$argon2id$r", CreatedAt: base}
	ok(t, us.CreateUser(ctx, revived))
	revived.AuthVersion = av
	got, err = us.UserByID(ctx, u.ID)
	ok(t, err)
	sameUser(t, "an account made on a deleted user's ID", got, revived)
}

// testDeleteUserSessions: a SessionDeleter deletes every session of the
// user, live, expired, revoked or jwt-mode, with every refresh token of
// their families (RefreshToken, which finds spent and revoked ones, finds
// none), and nothing of another user's; the auth_version stays.
func testDeleteUserSessions(t *testing.T, s signoff.Store) {
	d, isDeleter := s.(signoff.SessionDeleter)
	if !isDeleter {
		t.Skip("the store does not implement signoff.SessionDeleter")
	}
	u, other := rnd("usr_"), rnd("usr_")
	cookie := newSession(u)
	ok(t, s.CreateSession(ctx, cookie, nil))
	expired := newSession(u)
	expired.ExpiresAt = base.Add(time.Second)
	ok(t, s.CreateSession(ctx, expired, nil))
	revoked := newSession(u)
	ok(t, s.CreateSession(ctx, revoked, nil))
	ok(t, s.RevokeSession(ctx, revoked.ID, base))
	_, rt := newFamily(t, s, u)
	c := child(base.Add(time.Second))
	_, err := s.RotateRefreshToken(ctx, rt.Hash, c, 10*time.Second)
	ok(t, err)
	theirs := newSession(other)
	ok(t, s.CreateSession(ctx, theirs, nil))
	theirFam, theirRT := newFamily(t, s, other)
	_, av, err := s.RevokeUserSessions(ctx, u, base.Add(2*time.Second))
	ok(t, err)
	late := newSession(u) // one that began after the revocation: live
	ok(t, s.CreateSession(ctx, late, nil))

	n, err := d.DeleteUserSessions(ctx, u)
	ok(t, err)
	if n != 5 {
		t.Fatalf("DeleteUserSessions = %d, want 5: live, expired, revoked, jwt and the late one", n)
	}
	now := base.Add(3 * time.Second)
	for _, x := range []*signoff.Session{cookie, expired, revoked, late} {
		_, err := s.SessionByToken(ctx, x.TokenHash, now)
		notFound(t, "SessionByToken of a deleted session", err)
	}
	_, err = s.Session(ctx, late.ID, now)
	notFound(t, "Session of a deleted session", err)
	for _, h := range []signoff.Hash{rt.Hash, c.Hash} {
		_, err := s.RefreshToken(ctx, h)
		notFound(t, "RefreshToken of a deleted session", err)
	}
	_, err = s.RotateRefreshToken(ctx, c.Hash, child(now), 10*time.Second)
	notFound(t, "RotateRefreshToken of a deleted session", err)
	if list, err := s.ListSessions(ctx, u, now); err != nil || len(list) != 0 {
		t.Fatalf("ListSessions after DeleteUserSessions = %d, %v", len(list), err)
	}
	if got, err := s.AuthVersion(ctx, u); err != nil || got != av {
		t.Fatalf("AuthVersion after DeleteUserSessions = %d, %v; want %d", got, err, av)
	}
	_, err = s.SessionByToken(ctx, theirs.TokenHash, now)
	ok(t, err)
	_, err = s.Session(ctx, theirFam.ID, now)
	ok(t, err)
	if got, err := s.RefreshToken(ctx, theirRT.Hash); err != nil || !got.RevokedAt.IsZero() {
		t.Fatalf("another user's refresh token after DeleteUserSessions: %v", err)
	}
	n, err = d.DeleteUserSessions(ctx, u)
	ok(t, err)
	if n != 0 {
		t.Fatalf("DeleteUserSessions again = %d, want 0", n)
	}
	// The user may sign in again.
	ok(t, s.CreateSession(ctx, newSession(u), nil))
}
