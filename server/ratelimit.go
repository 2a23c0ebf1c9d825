package server

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a number of events per period: "10/min". The zero Rate is off.
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether the rate limits nothing.
func (r Rate) Off() bool { return r.N <= 0 }

func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "min", time.Hour: "h"}[r.Per]
	if unit == "" {
		return fmt.Sprintf("%d/%s", r.N, r.Per)
	}
	return fmt.Sprintf("%d/%s", r.N, unit)
}

// ParseRate parses "off" or N/UNIT with UNIT one of s, sec, second, m, min,
// minute, h, hour.
func ParseRate(s string) (Rate, error) {
	if s == "off" || s == "0" {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return Rate{}, fmt.Errorf("want N/UNIT like 10/min, or off; got %q", s)
	}
	per := map[string]time.Duration{
		"s": time.Second, "sec": time.Second, "second": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute,
		"h": time.Hour, "hour": time.Hour,
	}[unit]
	if per == 0 {
		return Rate{}, fmt.Errorf("unknown unit %q in %q (use s, min or h)", unit, s)
	}
	return Rate{N: count, Per: per}, nil
}

// limiter is a set of token buckets, one per key: each holds up to N tokens
// and gains one every Per/N.
type limiter struct {
	rate  Rate
	now   func() time.Time
	mu    sync.Mutex
	b     map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(r Rate, now func() time.Time) *limiter {
	return &limiter{rate: r, now: now, b: map[string]*bucket{}}
}

// allow takes a token for key. When there is none it returns false and how
// long until there is one.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil || l.rate.Off() {
		return true, 0
	}
	now := l.now()
	per := l.rate.Per / time.Duration(l.rate.N) // time for one token
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.b[key]
	if b == nil {
		b = &bucket{tokens: float64(l.rate.N), at: now}
		l.b[key] = b
	}
	b.tokens = min(float64(l.rate.N), b.tokens+float64(now.Sub(b.at))/float64(per))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(per))
}

// sweep drops full buckets now and then, so the map holds only keys that
// were limited recently.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < l.rate.Per {
		return
	}
	l.swept = now
	for k, b := range l.b {
		if now.Sub(b.at) >= l.rate.Per {
			delete(l.b, k)
		}
	}
}

// refund gives back one token taken for key, up to the bucket's size.
func (l *limiter) refund(key string) {
	if l == nil || l.rate.Off() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.b[key]; b != nil {
		b.tokens = min(float64(l.rate.N), b.tokens+1)
	}
}

// reset fills key's bucket: what it spent is forgotten.
func (l *limiter) reset(key string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.b, key)
}

// clientKey is the client a rate limit counts for the address ip: the
// address itself, or for IPv6 its /64, which one host or customer usually
// holds whole (RFC 6177); else one machine would be a botnet.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// knownFor is how long a client IP that signed in to an account stays known
// to it, counted from its last successful sign-in.
const knownFor = 30 * 24 * time.Hour

// loginLimits throttles password guessing without handing strangers a way to
// lock an owner out (OWASP Authentication Cheat Sheet, "Account Lockout";
// NIST SP 800-63B §5.2.2, which suggests trusting addresses the subscriber
// has signed in from; OWASP's "device cookies" idea, keyed by IP here). Only
// failures count; for rate N per Per:
//
//   - each client IP (an IPv6 /64, clientKey) may fail N times per Per on
//     one account: its own budget, which nobody else's failures touch, and
//     which a success restores in full;
//   - a client IP that has not signed in to the account in the last 30 days
//     also takes from the account's budget for unknown clients, 10N in a
//     burst refilled at N per Per: distributed guessing gets no more than
//     that, whatever the number of addresses, while a single address can
//     never spend it alone.
//
// The client IP's limit on login attempts over all accounts (10N per Per)
// is Server.rateCheck's. State is in memory, per instance.
type loginLimits struct {
	off     bool
	client  *limiter // failures per account and client IP
	unknown *limiter // failures per account from clients not known to it
	now     func() time.Time

	mu    sync.Mutex
	known map[string]time.Time // account and IP -> last successful sign-in
	swept time.Time
}

func newLoginLimits(r Rate, now func() time.Time) *loginLimits {
	return &loginLimits{
		off:     r.Off(),
		client:  newLimiter(r, now),
		unknown: newLimiter(Rate{N: 10 * r.N, Per: 10 * r.Per}, now),
		now:     now,
		known:   map[string]time.Time{},
	}
}

// loginTicket is one login attempt's reservation: it counts as a failure
// unless succeeded or cancel is called. The zero loginTicket reserves nothing.
type loginTicket struct {
	l             *loginLimits
	pair, account string
	known         bool
}

// begin reserves a failure for an attempt on account from client (see
// clientKey). When a budget
// is spent it names it ("client": this IP's on the account; "unknown
// clients": the account's for clients not known to it) and says how long
// until the next attempt may be made.
func (l *loginLimits) begin(account, client string) (t loginTicket, spent string, wait time.Duration) {
	if l.off {
		return loginTicket{}, "", 0
	}
	t = loginTicket{l: l, pair: account + "\x00" + client, account: account}
	t.known = l.isKnown(t.pair)
	if ok, wait := l.client.allow(t.pair); !ok {
		return loginTicket{}, "client", wait
	}
	if !t.known {
		if ok, wait := l.unknown.allow(account); !ok {
			l.client.refund(t.pair)
			return loginTicket{}, "unknown clients", wait
		}
	}
	return t, "", 0
}

// succeeded records a right password: the client's failures on the account
// are forgotten, the attempt is given back, and the client is known to the
// account from now on.
func (t loginTicket) succeeded() {
	if t.l == nil {
		return
	}
	t.cancel()
	t.l.client.reset(t.pair)
	now := t.l.now()
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	t.l.sweep(now)
	t.l.known[t.pair] = now
}

// cancel gives the attempt back: nothing was tried (the store failed).
func (t loginTicket) cancel() {
	if t.l == nil {
		return
	}
	t.l.client.refund(t.pair)
	if !t.known {
		t.l.unknown.refund(t.account)
	}
}

func (l *loginLimits) isKnown(pair string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	at, ok := l.known[pair]
	return ok && now.Sub(at) < knownFor
}

// sweep drops lapsed known pairs once a day. l.mu is held.
func (l *loginLimits) sweep(now time.Time) {
	if now.Sub(l.swept) < 24*time.Hour {
		return
	}
	l.swept = now
	for k, at := range l.known {
		if now.Sub(at) >= knownFor {
			delete(l.known, k)
		}
	}
}
