package redisstore

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/store/storetest"
)

// The tests need a Redis they may write to: SIGNOFF_TEST_REDIS is its URL
// (for example redis://127.0.0.1:6379/0). Every store gets a random key
// prefix and deletes its keys when its test ends, so a shared database is
// fine. SIGNOFF_TEST_REDIS_CLUSTER (comma-separated host:port of cluster
// nodes) runs the conformance suite on Redis Cluster as well.

var ctx = context.Background()

func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SIGNOFF_TEST_REDIS")
	if u == "" {
		testenv.Skip(t, "Redis store tests", "set SIGNOFF_TEST_REDIS to a Redis URL, like redis://127.0.0.1:6379/0")
	}
	return u
}

func randomPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "signofftest:" + hex.EncodeToString(b[:]) + ":"
}

// cleanup deletes every key under prefix, one key per DEL so that it works
// on a cluster too.
func cleanup(t *testing.T, c redis.UniversalClient, prefix string) {
	t.Helper()
	del := func(ctx context.Context, n redis.UniversalClient) error {
		it := n.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for it.Next(ctx) {
			if err := n.Del(ctx, it.Val()).Err(); err != nil {
				return err
			}
		}
		return it.Err()
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return del(ctx, n) })
	} else {
		err = del(ctx, c)
	}
	if err != nil {
		t.Errorf("cleaning up %s*: %v", prefix, err)
	}
}

// newStore opens a store with a prefix of its own, emptied and closed when
// the test ends.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(ctx, redisURL(t), Options{Prefix: randomPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cleanup(t, s.Client(), s.k.prefix)
		s.Close()
	})
	return s
}

// scan returns every key of s.
func scan(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	it := s.Client().Scan(ctx, 0, s.k.prefix+"*", 500).Iterator()
	for it.Next(ctx) {
		out = append(out, it.Val())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConformance(t *testing.T) {
	redisURL(t)
	storetest.Run(t, func(t *testing.T) signoff.Store { return newStore(t) })
}

func TestConformanceCluster(t *testing.T) {
	addrs := os.Getenv("SIGNOFF_TEST_REDIS_CLUSTER")
	if addrs == "" {
		testenv.Skip(t, "Redis Cluster store tests", "set SIGNOFF_TEST_REDIS_CLUSTER to the comma-separated host:port of Redis Cluster nodes")
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { c.Close() })
	storetest.Run(t, func(t *testing.T) signoff.Store {
		s := New(c, Options{Prefix: randomPrefix()})
		t.Cleanup(func() { cleanup(t, c, s.k.prefix) })
		return s
	})
	// keySlot, which TestOneSlotPerUser relies on, agrees with the cluster.
	k := keys{"signoff:"}
	for _, u := range []string{"usr_1", "", "a}b", "{x}", "%7D", "ü"} {
		for _, key := range []string{k.session(u, "ses_1"), k.sessions(u), k.authVersion(u), k.live(u), k.token(u, "ab"), k.sidIndex("{s}"), k.tokIndex("cd")} {
			want, err := c.ClusterKeySlot(ctx, key).Result()
			must(t, err)
			if got := keySlot(key); int64(got) != want {
				t.Errorf("keySlot(%q) = %d, CLUSTER KEYSLOT says %d", key, got, want)
			}
		}
	}
}

// keySlot is Redis Cluster's HASH_SLOT: CRC16 (XMODEM) of the key, or of its
// hash tag (the part between the first '{' and the next '}', if not empty),
// modulo 16384. See the cluster specification, "Keys distribution model".
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

func TestKeySlot(t *testing.T) {
	for key, want := range map[string]int{
		"123456789": 0x31C3, // the specification's check value
		"foo":       12182,  // CLUSTER KEYSLOT foo
		"bar":       5061,
	} {
		if got := keySlot(key); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
	if keySlot("{user1000}.following") != keySlot("{user1000}.followers") || keySlot("{user1000}.a") != keySlot("user1000") {
		t.Error("hash tags are not honoured")
	}
	if keySlot("{}foo") == keySlot("foo") && keySlot("{}bar") == keySlot("bar") {
		t.Error("an empty hash tag must hash the whole key")
	}
}

var base = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func rnd(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// exercise gives user u every kind of key: a session-mode session, a jwt
// family rotated twice, a revoked session, and an auth_version.
func exercise(t *testing.T, s *Store, u string, now time.Time) {
	t.Helper()
	a := &signoff.Session{ID: rnd("ses_"), UserID: u, TokenHash: signoff.HashString(rnd("tok")), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(ctx, a, nil))
	must(t, s.RevokeSession(ctx, a.ID, now.Add(time.Second)))
	_, _, err := s.RevokeUserSessions(ctx, u, now)
	must(t, err)
	b := &signoff.Session{ID: rnd("ses_"), UserID: u, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(2 * time.Hour)}
	rt := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: now, ExpiresAt: now.Add(30 * time.Minute)}
	must(t, s.CreateSession(ctx, b, rt))
	parent := rt.Hash
	for i := range 2 {
		at := now.Add(time.Duration(i+1) * time.Minute)
		c := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
		_, err := s.RotateRefreshToken(ctx, parent, c, 10*time.Second)
		must(t, err)
		parent = c.Hash
	}
	must(t, s.TouchSessions(ctx, []signoff.Touch{{SessionID: b.ID, At: now.Add(time.Hour)}}))
	list, err := s.ListSessions(ctx, u, now.Add(time.Hour))
	must(t, err)
	if len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("ListSessions = %v", list)
	}
}

// TestOneSlotPerUser checks that every key of a user hashes to one slot, so
// that the scripts, which touch several of them, run on Redis Cluster.
func TestOneSlotPerUser(t *testing.T) {
	s := newStore(t)
	users := []string{rnd("usr_"), "", "a}b", "a", "{x}", "%7D", "}", "x}:s:y", "ü:ser with spaces"}
	for _, u := range users {
		exercise(t, s, u, base)
	}
	all := scan(t, s)
	seen := map[string]bool{}
	for _, u := range users {
		prefix := s.k.user(u)
		slot := keySlot(prefix)
		kinds := map[string]int{}
		for _, k := range all {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if seen[k] {
				t.Errorf("key %q belongs to two users", k)
			}
			seen[k] = true
			if got := keySlot(k); got != slot {
				t.Errorf("user %q: key %q is in slot %d, the user's others in %d", u, k, got, slot)
			}
			rest := strings.TrimPrefix(k, prefix)
			kind, _, _ := strings.Cut(rest, ":")
			kinds[kind]++
		}
		// 2 sessions, 3 refresh tokens, the zset, av, the live index, the
		// prune cursor.
		if kinds["s"] != 2 || kinds["rt"] != 3 || kinds["sessions"] != 1 || kinds["av"] != 1 || kinds["live"] != 1 || kinds["prune"] != 1 || len(kinds) != 6 {
			t.Errorf("user %q: keys by kind %v", u, kinds)
		}
	}
	for _, k := range all {
		if !seen[k] && !strings.HasPrefix(k, s.k.prefix+"idx:") {
			t.Errorf("key %q is neither an index nor in a user's slot", k)
		}
	}
	// Distinct users get distinct tags, whatever their IDs contain.
	tags := map[string]string{}
	for _, u := range users {
		p := s.k.user(u)
		tag := p[strings.IndexByte(p, '{'):]
		tag = tag[:strings.IndexByte(tag, '}')+1]
		if other, dup := tags[tag]; dup {
			t.Errorf("users %q and %q share the tag %s", u, other, tag)
		}
		tags[tag] = u
	}
}

// TestTTLs checks that every key but auth_version expires, after the end of
// what it holds and not long after, whatever the caller's clock says
// compared with Redis's.
func TestTTLs(t *testing.T) {
	s := newStore(t)
	clocks := map[string]time.Time{
		"test base":   base,
		"long ago":    time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC),
		"far future":  time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		"real clock":  time.Now(),
		"before 1970": time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	users := map[string]time.Time{}
	for name, now := range clocks {
		u := rnd("usr_")
		users[u] = now
		exercise(t, s, u, now)
		// Everything is still there for the caller's clock.
		list, err := s.ListSessions(ctx, u, now.Add(time.Minute))
		if err != nil || len(list) != 1 {
			t.Fatalf("%s: ListSessions = %v, %v", name, list, err)
		}
	}
	// A session already expired when created still gets a TTL.
	gone := &signoff.Session{ID: rnd("ses_"), UserID: rnd("usr_"), TokenHash: signoff.HashString(rnd("tok")), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(-time.Hour)}
	must(t, s.CreateSession(ctx, gone, nil))

	const longest = 2*time.Hour + gcMargin // the longest session exercise creates
	for _, k := range scan(t, s) {
		d, err := s.Client().PTTL(ctx, k).Result()
		must(t, err)
		if strings.HasSuffix(k, "}:av") {
			if d != -1 {
				t.Errorf("%s: auth_version has a TTL (%v); it must never expire", k, d)
			}
			continue
		}
		if d <= 0 {
			t.Errorf("%s: no TTL (%v)", k, d)
			continue
		}
		if d < gcMargin-time.Minute || d > longest {
			t.Errorf("%s: TTL %v, want between %v and %v", k, d, gcMargin, longest)
		}
	}
}

// TestConcurrentRotation races 50 refreshes of one parent. With the same
// child (what the Manager derives from a parent), one rotates and the others
// are grace retries that get that child back; with different children, one
// rotates and the others are reuse. Either way the family holds one child.
func TestConcurrentRotation(t *testing.T) {
	for _, sameChild := range []bool{true, false} {
		name := "SameChild"
		if !sameChild {
			name = "Siblings"
		}
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			u := rnd("usr_")
			sess := &signoff.Session{ID: rnd("ses_"), UserID: u, CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
			rt := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: base, ExpiresAt: base.Add(30 * time.Minute)}
			must(t, s.CreateSession(ctx, sess, rt))
			at := base.Add(time.Minute)
			shared := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
			const n = 50
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				rots  = make([]*signoff.Rotation, n)
				errs  = make([]error, n)
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := *shared
					if !sameChild {
						c.JTI, c.Hash = rnd("rt_"), signoff.HashString(rnd("rt"))
					}
					c.IssuedAt = at.Add(time.Duration(i) * time.Millisecond)
					<-start
					rots[i], errs[i] = s.RotateRefreshToken(ctx, rt.Hash, &c, 10*time.Second)
				}()
			}
			close(start)
			wg.Wait()
			var winner *signoff.RefreshToken
			for i := range n {
				if errs[i] == nil && !rots[i].Retry {
					if winner != nil {
						t.Fatalf("two winners: %s and %s", winner.JTI, rots[i].Child.JTI)
					}
					winner = rots[i].Child
				}
			}
			if winner == nil {
				t.Fatal("no call rotated")
			}
			for i := range n {
				switch {
				case errs[i] == nil && rots[i].Child.JTI != winner.JTI:
					t.Fatalf("call %d got child %s, the winner stored %s", i, rots[i].Child.JTI, winner.JTI)
				case errs[i] == nil:
				case sameChild:
					t.Fatalf("call %d: %v; want a grace retry", i, errs[i])
				default:
					var re *signoff.ReuseError
					if !errors.As(errs[i], &re) || re.SessionID != sess.ID || re.UserID != u {
						t.Fatalf("call %d: %v; want reuse", i, errs[i])
					}
				}
			}
			p, err := s.RefreshToken(ctx, rt.Hash)
			must(t, err)
			if p.ReplacedBy != winner.JTI || p.RevokedAt.IsZero() {
				t.Fatalf("parent after the race: %+v", *p)
			}
			c, err := s.RefreshToken(ctx, winner.Hash)
			must(t, err)
			if !c.RevokedAt.IsZero() || c.ReplacedBy != "" || c.SessionID != sess.ID {
				t.Fatalf("child after the race: %+v", *c)
			}
			var tokens []string
			for _, k := range scan(t, s) {
				if strings.HasPrefix(k, s.k.tokenPrefix(u)) {
					tokens = append(tokens, k)
				}
			}
			if len(tokens) != 2 {
				t.Fatalf("the family holds %d tokens, want the parent and one child", len(tokens))
			}
			tip, err := s.Client().HGet(ctx, s.k.session(u, sess.ID), "rt").Result()
			must(t, err)
			if tip != winner.Hash.Hex() {
				t.Fatal("the session does not name the winner as its unspent token")
			}
			// Revoking reaches the child.
			must(t, s.RevokeSession(ctx, sess.ID, at.Add(time.Second)))
			c, err = s.RefreshToken(ctx, winner.Hash)
			must(t, err)
			if c.RevokedAt.IsZero() {
				t.Fatal("RevokeSession left the newest refresh token unrevoked")
			}
		})
	}
}

// TestFailedCreateLeavesNothing checks that a duplicate releases the index
// keys it claimed, and that its error names no hash.
func TestFailedCreateLeavesNothing(t *testing.T) {
	s := newStore(t)
	a := &signoff.Session{ID: rnd("ses_"), UserID: rnd("usr_"), TokenHash: signoff.HashString(rnd("tok")), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, s.CreateSession(ctx, a, nil))
	before := len(scan(t, s))
	b := *a
	b.ID = rnd("ses_") // a fresh ID, a taken token hash
	rt := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: base, ExpiresAt: base.Add(time.Hour)}
	err := s.CreateSession(ctx, &b, rt)
	if err == nil || errors.Is(err, signoff.ErrNotFound) {
		t.Fatalf("duplicate token hash: %v", err)
	}
	for _, leak := range []string{a.TokenHash.Hex(), a.TokenHash.Hex()[:12], rt.Hash.Hex()[:12]} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("the error %q names a hash", err)
		}
	}
	if after := len(scan(t, s)); after != before {
		t.Fatalf("a failed CreateSession left %d keys behind", after-before)
	}
	if _, err := s.Session(ctx, b.ID, base); !errors.Is(err, signoff.ErrNotFound) {
		t.Fatalf("the failed session: %v", err)
	}
}

func TestOptions(t *testing.T) {
	if _, err := Open(ctx, "redis://127.0.0.1:1/0", Options{Prefix: "bad{prefix}"}); err == nil {
		t.Error("Open accepted a prefix with braces")
	}
	if _, err := Open(ctx, "http://example.test", Options{}); err == nil {
		t.Error("Open accepted a URL that is not redis://")
	}
	for _, u := range []string{"redis://user:s3cret@host:6379/x%zz", "redis://:s3cret@host:notaport/0"} {
		_, err := Open(ctx, u, Options{})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(a malformed URL with a password): %v", err)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("New accepted a prefix with braces")
			}
		}()
		New(redis.NewClient(&redis.Options{}), Options{Prefix: "{x}"})
	}()
	// Nothing listens on port 1: one dial, no retries.
	s := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1}), Options{})
	if s.k.prefix != "signoff:" {
		t.Errorf("default prefix %q", s.k.prefix)
	}
	if err := s.Ping(ctx); err == nil || !strings.HasPrefix(err.Error(), "redisstore: ping: ") {
		t.Errorf("Ping of nothing: %v", err)
	}
	s.Client().Close()
}

func TestRef(t *testing.T) {
	for _, r := range []ref{
		{userID: "usr_1", sessionID: "ses_1", expires: base},
		{userID: "", sessionID: "", expires: time.UnixMicro(0).UTC()},
		{userID: "a:3:b", sessionID: "12:x", expires: base.Add(-100 * 365 * 24 * time.Hour)},
	} {
		got, err := decodeRef(r.encode())
		if err != nil || got.userID != r.userID || got.sessionID != r.sessionID || !got.expires.Equal(r.expires) {
			t.Errorf("decodeRef(encode(%+v)) = %+v, %v", r, got, err)
		}
	}
	for _, bad := range []string{"", "1", "1:", "x:1:a", "1:9:ab", "1:-1:a"} {
		if _, err := decodeRef(bad); err == nil {
			t.Errorf("decodeRef(%q) accepted it", bad)
		}
	}
}

// Ping reads the data, not only the connection: a Redis that answers PING
// but refuses the store's keys (here an ACL whose key pattern misses the
// prefix; in production also a replica still loading its dataset, which
// answers PING and -LOADING to reads) is not ready.
func TestPingReadsTheData(t *testing.T) {
	admin := newStore(t)
	if err := admin.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	rand.Read(b[:])
	name, pw := "signofftest-"+hex.EncodeToString(b[:]), hex.EncodeToString(b[:])+"pw"
	if err := admin.c.Do(ctx, "ACL", "SETUSER", name, "on", ">"+pw, "+@all", "~elsewhere:*").Err(); err != nil {
		t.Skipf("this Redis cannot create an ACL user: %v", err)
	}
	t.Cleanup(func() { admin.c.Do(ctx, "ACL", "DELUSER", name) })
	u, err := neturl.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.UserPassword(name, pw)
	s, err := Open(ctx, u.String(), Options{Prefix: randomPrefix()})
	if err != nil {
		t.Fatalf("Open as a user that may PING: %v", err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping as a user who may not read the store's keys: nil, want an error")
	}
}

// TestRevokeUserCostIsConstant checks that logout everywhere does not grow
// with the user's sessions, without a clock: on a user with 1,000 sessions
// it writes no session's or refresh token's record, and its script runs as
// many Redis commands as on a user with one session (MONITOR reports every
// command a script runs, marked "lua"), none of them on a session or a
// token. It also checks the count it returns: the sessions revoked one by
// one, those stored revoked, the expired ones, and one that an older build
// created (it has no entry in the live index) are not counted; every one of
// them is ended.
func TestRevokeUserCostIsConstant(t *testing.T) {
	s := newStore(t)
	const n = 1000
	small, big := rnd("usr_"), rnd("usr_")
	must(t, s.CreateSession(ctx, &signoff.Session{ID: rnd("ses_"), UserID: small, TokenHash: signoff.HashString(rnd("tok")), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}, nil))

	// Every tenth session is a jwt family; one in fifty has expired by at,
	// one in fifty is revoked one by one, and one in fifty is stored revoked.
	at := base.Add(time.Minute)
	sessions := make([]*signoff.Session, n)
	tokens := make([]*signoff.RefreshToken, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				x := &signoff.Session{ID: rnd("ses_"), UserID: big, CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
				switch i % 50 {
				case 1:
					x.ExpiresAt = at
				case 4:
					x.RevokedAt = base
				}
				var rt *signoff.RefreshToken
				if i%10 == 0 {
					rt = &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: base, ExpiresAt: base.Add(30 * time.Minute)}
				} else {
					x.TokenHash = signoff.HashString(rnd("tok"))
				}
				sessions[i], tokens[i] = x, rt
				if err := s.CreateSession(ctx, x, rt); err != nil {
					errs <- err
					return
				}
				if i%50 == 2 {
					if err := s.RevokeSession(ctx, x.ID, base); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Session 3 as an older build left it: no entry in the live index.
	must(t, s.Client().ZRem(ctx, s.k.live(big), sessions[3].ID).Err())
	want := n - 3*n/50 - 1

	// MONITOR slows down the whole Redis: only for the two calls.
	mon := startMonitor(t)
	var got [2]int
	smallCmds := mon.scriptCommands(t, s, s.k.user(small), func() {
		var err error
		got[0], _, err = s.RevokeUserSessions(ctx, small, at)
		must(t, err)
	})
	bigCmds := mon.scriptCommands(t, s, s.k.user(big), func() {
		var err error
		got[1], _, err = s.RevokeUserSessions(ctx, big, at)
		must(t, err)
	})
	mon.c.Close()
	if got[0] != 1 || got[1] != want {
		t.Errorf("RevokeUserSessions counted %d and %d, want 1 and %d (not the revoked, the expired, the older build's one)", got[0], got[1], want)
	}
	if len(bigCmds) != len(smallCmds) || len(bigCmds) == 0 {
		t.Errorf("the script ran %d commands on the keys of a user with %d sessions, %d for one with 1: %v; want as many", len(bigCmds), n, len(smallCmds), commandNames(bigCmds, 20))
	}
	for _, c := range bigCmds {
		if strings.Contains(c, `"`+s.k.sessionPrefix(big)) || strings.Contains(c, `"`+s.k.tokenPrefix(big)) {
			t.Errorf("the script ran %v on a session's or a token's record", commandNames([]string{c}, 1))
			break
		}
	}

	// No record was written: a 'revoked' field is only where RevokeSession
	// put it, and yet every session is ended.
	p := s.Client().Pipeline()
	sf := make([]*redis.BoolCmd, n)
	tf := make([]*redis.BoolCmd, n)
	for i, x := range sessions {
		sf[i] = p.HExists(ctx, s.k.session(big, x.ID), "revoked")
		if tokens[i] != nil {
			tf[i] = p.HExists(ctx, s.k.token(big, tokens[i].Hash.Hex()), "revoked")
		}
	}
	_, err := p.Exec(ctx)
	must(t, err)
	var written int
	for i := range n {
		if (sf[i].Val() || tf[i] != nil && tf[i].Val()) != (i%50 == 2 || i%50 == 4) {
			written++
		}
	}
	if written > 0 {
		t.Errorf("RevokeUserSessions wrote a 'revoked' field into the records of %d sessions", written)
	}
	for i, x := range sessions {
		var err error
		if x.TokenHash.IsZero() {
			_, err = s.Session(ctx, x.ID, base)
		} else {
			_, err = s.SessionByToken(ctx, x.TokenHash, base)
		}
		if !errors.Is(err, signoff.ErrNotFound) {
			t.Fatalf("session %d after RevokeUserSessions: %v, want not found", i, err)
		}
		if tokens[i] != nil {
			_, err = s.RotateRefreshToken(ctx, tokens[i].Hash, &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: base, ExpiresAt: at}, 0)
			if !errors.Is(err, signoff.ErrNotFound) {
				t.Fatalf("rotating session %d's refresh token after RevokeUserSessions: %v, want not found", i, err)
			}
		}
	}
	if list, err := s.ListSessions(ctx, big, base); err != nil || len(list) != 0 {
		t.Fatalf("ListSessions after RevokeUserSessions = %d sessions, %v", len(list), err)
	}
}

// TestLiveIndexForgetsExpired checks that the live index of a user who never
// signs out everywhere does not grow without end: creating a session drops
// from it the sessions that expired more than gcMargin before the new one
// began, and only those.
func TestLiveIndexForgetsExpired(t *testing.T) {
	s := newStore(t)
	u := rnd("usr_")
	session := func(created, expires time.Time) *signoff.Session {
		x := &signoff.Session{ID: rnd("ses_"), UserID: u, TokenHash: signoff.HashString(rnd("tok")), CreatedAt: created, LastSeenAt: created, ExpiresAt: expires}
		must(t, s.CreateSession(ctx, x, nil))
		return x
	}
	later := base.Add(time.Minute + gcMargin + time.Microsecond)
	session(base, base.Add(time.Minute))                          // expired gcMargin and 1µs before later
	edge := session(base, base.Add(time.Minute+time.Microsecond)) // expired exactly gcMargin before
	long := session(base, base.Add(2*time.Hour))                  // live at later
	last := session(later, later.Add(time.Hour))
	ids, err := s.Client().ZRange(ctx, s.k.live(u), 0, -1).Result()
	must(t, err)
	if want := []string{edge.ID, long.ID, last.ID}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("the live index holds %d sessions after the last create, want the %d that did not expire over gcMargin before it (in the order of their expiry)", len(ids), len(want))
	}
	if n, _, err := s.RevokeUserSessions(ctx, u, later); err != nil || n != 2 {
		t.Fatalf("RevokeUserSessions = %d, %v; want 2", n, err)
	}
}

// TestCreateSessionCostIsConstant checks that a sign-in does not grow with
// the user's sessions: creating a session of a user with 1,000 runs at most
// 2*pruneBatch more commands on the user's keys than creating one of a user
// with one session (an EXISTS, and a ZREM if it is collected, for each of
// the pruneBatch members of the user's sessions zset it checks), counted
// with MONITOR as in TestRevokeUserCostIsConstant.
func TestCreateSessionCostIsConstant(t *testing.T) {
	s := newStore(t)
	const n = 1000
	small, big := rnd("usr_"), rnd("usr_")
	create := func(u string) {
		must(t, s.CreateSession(ctx, &signoff.Session{ID: rnd("ses_"), UserID: u, TokenHash: signoff.HashString(rnd("tok")), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}, nil))
	}
	create(small)
	for range n {
		create(big)
	}
	mon := startMonitor(t)
	smallCmds := mon.scriptCommands(t, s, s.k.user(small), func() { create(small) })
	bigCmds := mon.scriptCommands(t, s, s.k.user(big), func() { create(big) })
	mon.c.Close()
	if len(smallCmds) == 0 || len(bigCmds) > len(smallCmds)+2*pruneBatch {
		t.Errorf("creating a session ran %d commands on the keys of a user with %d sessions, %d for one with 1: %v; want at most %d more",
			len(bigCmds), n, len(smallCmds), commandNames(bigCmds, 20), 2*pruneBatch)
	}
}

// TestSessionsIndexForgetsCollected checks that the user's sessions zset,
// which lists the user's devices, drops the sessions Redis has collected
// (their hash expired) as sessions are created, pruneBatch of its members
// checked by each in turn: in a bounded number of creations every
// collected one is gone, also those behind a live session that stays.
func TestSessionsIndexForgetsCollected(t *testing.T) {
	s := newStore(t)
	u := rnd("usr_")
	var ids []string
	create := func() string {
		at := base.Add(time.Duration(len(ids)) * time.Second) // in the order of creation, as sign-ins are
		x := &signoff.Session{ID: rnd("ses_"), UserID: u, TokenHash: signoff.HashString(rnd("tok")), CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}
		must(t, s.CreateSession(ctx, x, nil))
		ids = append(ids, x.ID)
		return x.ID
	}
	for range 40 {
		create()
	}
	// Redis collects every other session but the first, which stays live
	// in front of them (the zset is in the order of creation).
	gone := map[string]bool{}
	for i, id := range ids {
		if i > 0 && i%2 == 0 {
			must(t, s.Client().Del(ctx, s.k.session(u, id)).Err())
			gone[id] = true
		}
	}
	// One pass: the cursor moves pruneBatch a creation while each adds a
	// member, so c creations check 40 + c members when c*pruneBatch >= 40 + c.
	for range 40/(pruneBatch-1) + 2 {
		create()
	}
	members, err := s.Client().ZRange(ctx, s.k.sessions(u), 0, -1).Result()
	must(t, err)
	left := 0
	for _, id := range members {
		if gone[id] {
			left++
		}
	}
	if left > 0 || len(members) != len(ids)-len(gone) {
		t.Fatalf("the sessions zset holds %d members, %d of them collected; want the %d live ones alone", len(members), left, len(ids)-len(gone))
	}
	if list, err := s.ListSessions(ctx, u, base); err != nil || len(list) != len(ids)-len(gone) {
		t.Fatalf("ListSessions = %d sessions, %v; want %d", len(list), err, len(ids)-len(gone))
	}
}

// monitor is a connection in MONITOR mode: Redis sends it every command it
// runs, from any client, and those a script runs marked "lua".
type monitor struct {
	c net.Conn
	r *bufio.Reader
}

func startMonitor(t *testing.T) *monitor {
	t.Helper()
	o, err := redis.ParseURL(redisURL(t))
	must(t, err)
	var c net.Conn
	if o.TLSConfig != nil {
		c, err = tls.Dial("tcp", o.Addr, o.TLSConfig)
	} else {
		c, err = net.Dial("tcp", o.Addr)
	}
	must(t, err)
	t.Cleanup(func() { c.Close() })
	m := &monitor{c: c, r: bufio.NewReader(c)}
	// A stuck read fails the test instead of hanging it.
	must(t, c.SetDeadline(time.Now().Add(2*time.Minute)))
	call := func(args ...string) string {
		b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
		for _, a := range args {
			b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
		}
		_, err := c.Write(b)
		must(t, err)
		line, err := m.r.ReadString('\n')
		must(t, err)
		return strings.TrimSpace(line)
	}
	if o.Password != "" {
		args := []string{"AUTH", o.Password}
		if o.Username != "" {
			args = []string{"AUTH", o.Username, o.Password}
		}
		if r := call(args...); r != "+OK" {
			t.Fatal("AUTH on the MONITOR connection failed")
		}
	}
	if r := call("MONITOR"); r != "+OK" {
		t.Skipf("this Redis refuses MONITOR (%s): cannot see what a script runs", r)
	}
	return m
}

// scriptCommands runs f and returns the MONITOR lines of the commands that
// scripts ran meanwhile on the keys beginning with keyPrefix. Marker
// commands sent before and after f delimit what f ran.
func (m *monitor) scriptCommands(t *testing.T, s *Store, keyPrefix string, f func()) []string {
	t.Helper()
	m.readTo(t, s, nil, "")
	f()
	var out []string
	m.readTo(t, s, &out, keyPrefix)
	return out
}

// readTo sends a marker command and reads up to it, appending to out (if not
// nil) the commands scripts ran on the keys beginning with keyPrefix.
func (m *monitor) readTo(t *testing.T, s *Store, out *[]string, keyPrefix string) {
	t.Helper()
	marker := s.k.prefix + rnd("monitor-mark:")
	if err := s.Client().Get(ctx, marker).Err(); !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	for {
		line, err := m.r.ReadString('\n')
		must(t, err)
		if strings.Contains(line, `"`+marker+`"`) {
			return
		}
		if out != nil && strings.Contains(line, " lua] ") && strings.Contains(line, `"`+keyPrefix) {
			*out = append(*out, line)
		}
	}
}

// commandNames returns the names of up to max MONITOR lines' commands,
// without their arguments (which hold session IDs).
func commandNames(lines []string, max int) []string {
	var out []string
	for _, l := range lines[:min(len(lines), max)] {
		_, rest, _ := strings.Cut(l, "] ")
		name, _, _ := strings.Cut(rest, " ")
		out = append(out, strings.Trim(name, `"`))
	}
	return out
}
