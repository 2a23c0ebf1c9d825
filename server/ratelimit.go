package server

import (
	"fmt"
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
