package redisstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// keys names every key of one Store. See the package documentation for the
// layout and why it is cluster-safe.
type keys struct{ prefix string }

// tagEscaper makes a user ID safe inside a hash tag: a '}' would end the tag
// early and a '{' could start another one, so both are escaped, and '%' too so
// that the escaping cannot be forged (two different IDs never share a tag).
var tagEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// user is the common beginning of every key in the user's slot,
// "<prefix>{u:<userID>}:". Everything after the closing brace is outside the
// hash tag, so every key built on it hashes to the slot of "u:<userID>".
func (k keys) user(userID string) string {
	return k.prefix + "{u:" + tagEscaper.Replace(userID) + "}:"
}

// sessionPrefix is what a session ID is appended to to name its hash.
func (k keys) sessionPrefix(userID string) string { return k.user(userID) + "s:" }

// tokenPrefix is what a refresh token hash (hex) is appended to to name its hash.
func (k keys) tokenPrefix(userID string) string { return k.user(userID) + "rt:" }

func (k keys) session(userID, id string) string    { return k.sessionPrefix(userID) + id }
func (k keys) token(userID, hashHex string) string { return k.tokenPrefix(userID) + hashHex }
func (k keys) sessions(userID string) string       { return k.user(userID) + "sessions" }
func (k keys) authVersion(userID string) string    { return k.user(userID) + "av" }

// live is the user's zset of the sessions begun since the user's last
// logout everywhere and not revoked one by one, scored by ExpiresAt: the
// index RevokeUserSessions counts from.
func (k keys) live(userID string) string { return k.user(userID) + "live" }

// pruneCursor is the rank in the user's sessions zset from which the next
// session created checks members for collected sessions (createScript).
func (k keys) pruneCursor(userID string) string { return k.user(userID) + "prune" }

func (k keys) sidIndex(id string) string        { return k.prefix + "idx:sid:" + id }
func (k keys) tokIndex(hashHex string) string   { return k.prefix + "idx:tok:" + hashHex }
func (k keys) tokenIndex(hashHex string) string { return k.prefix + "idx:rt:" + hashHex }

// ref is what an index key holds: where a record lives. It never changes
// for the life of the index key, which is what makes a lookup in two steps
// (GET the index, then read the user's slot) safe.
type ref struct {
	userID    string
	sessionID string
	expires   time.Time // the session's absolute lifetime, which is never extended
}

// encode writes r as "<expires µs>:<len(userID)>:<userID><sessionID>": the
// length makes it unambiguous whatever the IDs contain.
func (r ref) encode() string {
	return strconv.FormatInt(r.expires.UnixMicro(), 10) + ":" + strconv.Itoa(len(r.userID)) + ":" + r.userID + r.sessionID
}

func decodeRef(v string) (ref, error) {
	exp, rest, ok1 := strings.Cut(v, ":")
	n, rest, ok2 := strings.Cut(rest, ":")
	e, err1 := strconv.ParseInt(exp, 10, 64)
	l, err2 := strconv.Atoi(n)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || l < 0 || l > len(rest) {
		return ref{}, errMalformed("index")
	}
	return ref{userID: rest[:l], sessionID: rest[l:], expires: fromMicros(e)}, nil
}

// gcMargin is how long a record outlives its logical expiry in Redis. Redis
// expiry is only garbage collection; see ttl.
const gcMargin = time.Hour

// ttl is the time to live to give a key that must last until expires on the
// caller's clock, which reads now. It is relative, so Redis counts it from
// its own clock: the store never compares the caller's times with Redis's
// (a caller's clock may be skewed, or a test's fake clock years away), and a
// key lives (expires-now)+gcMargin of real time whatever the two clocks say.
// Liveness is always decided by the stored times and the caller's now.
func ttl(expires, now time.Time) time.Duration {
	d := max(expires.Sub(now), 0) + gcMargin
	return d.Truncate(time.Millisecond)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// Times are stored as unix microseconds. (A time that may be unset, such as
// revoked, is an absent field until it is set.)
func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

type errMalformed string

func (e errMalformed) Error() string { return fmt.Sprintf("malformed %s record", string(e)) }

// pruneBatch is how many members of a user's sessions zset creating a
// session checks for sessions Redis has collected (createScript).
const pruneBatch = 4
