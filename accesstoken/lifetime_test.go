package accesstoken_test

import (
	"math"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/accesstoken/jwttest"
)

// lifetimeCodec returns a codec with key k for access tokens that live ttl,
// allowing leeway of clock skew, whose clock stands at now.
func lifetimeCodec(t testing.TB, k *accesstoken.Key, ttl, leeway time.Duration, now time.Time) *accesstoken.Codec {
	t.Helper()
	c, err := accesstoken.NewCodec(keySet(t, k), "signoff", "signoff", ttl, leeway, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// timed returns claims valid at t0 with the given iat and exp (nbf = iat).
func timed(iat, exp time.Time) accesstoken.Claims {
	cl := claims("ses_1")
	cl.IssuedAt, cl.NotBefore, cl.ExpiresAt = iat, iat, exp
	return cl
}

// TestLifetimeCeiling_R41: a token signed with the real key is still refused
// when it lives longer than the access-token TTL allows: exp later than
// now + TTL + Leeway, or exp - iat longer than TTL + Leeway. Without the
// ceiling a stolen signing key, or a bug in another issuer sharing the key,
// mints tokens that outlive every logout horizon, and an exp past the year
// 2262 overflows the verified-token cache's nanosecond clock.
func TestLifetimeCeiling_R41(t *testing.T) {
	k := fixedKey("k1", accesstoken.EdDSA, 1)

	t.Run("leeway 0", func(t *testing.T) {
		c := lifetimeCodec(t, k, ttl, 0, t0)
		mustVerify(t, c, sign(t, c, timed(t0, t0.Add(ttl))), "exp = now + TTL")
		mustVerify(t, c, sign(t, c, timed(t0.Add(-4*time.Minute), t0.Add(time.Minute))), "issued 4 minutes ago, exp in 1 (lifetime = TTL)")
		mustReject(t, c, sign(t, c, timed(t0, t0.AddDate(10, 0, 0))), "exp = now + 10 years")
		mustReject(t, c, sign(t, c, timed(t0, t0.Add(ttl+time.Second))), "exp = now + TTL + 1s")
		mustReject(t, c, sign(t, c, timed(t0, time.Unix(1<<62, 0))), "exp = 2^62 s (UnixNano overflows)")
		mustReject(t, c, sign(t, c, timed(t0, time.Unix(1<<62-1, 0))), "exp = 2^62-1 s")
		mustReject(t, c, sign(t, c, timed(t0.AddDate(-10, 0, 0), t0.Add(time.Minute))), "issued 10 years ago, exp in a minute (lifetime 10 years)")
		mustReject(t, c, sign(t, c, timed(t0.Add(-5*time.Minute), t0.Add(time.Second))), "issued 5 minutes ago, exp in 1s (lifetime TTL + 1s)")
		// The raw claim, not what Sign makes of a time.Time: a JSON number
		// as large as float64 allows.
		mustReject(t, c, jwttest.Forge(t, jwt.SigningMethodEdDSA, k.Private, map[string]any{"kid": k.ID},
			wireClaims(func(cl jwt.MapClaims) { cl["exp"] = 1e300 })), "exp = 1e300")
		mustReject(t, c, jwttest.Forge(t, jwt.SigningMethodEdDSA, k.Private, map[string]any{"kid": k.ID},
			wireClaims(func(cl jwt.MapClaims) { cl["exp"] = int64(1) << 62 })), "exp = 2^62 (raw claim)")
	})

	t.Run("leeway 30s", func(t *testing.T) {
		const leeway = 30 * time.Second
		c := lifetimeCodec(t, k, ttl, leeway, t0)
		mustVerify(t, c, sign(t, c, timed(t0, t0.Add(ttl))), "exp = now + TTL")
		// Minted by an instance whose clock is 30s ahead.
		mustVerify(t, c, sign(t, c, timed(t0.Add(leeway), t0.Add(leeway+ttl))), "exp = now + TTL + leeway, iat = now + leeway")
		mustReject(t, c, sign(t, c, timed(t0.Add(leeway), t0.Add(leeway+ttl+time.Second))), "exp = now + TTL + leeway + 1s (lifetime TTL + 1s)")
		mustReject(t, c, sign(t, c, timed(t0, t0.Add(ttl+leeway+time.Second))), "exp = now + TTL + leeway + 1s, iat = now")
		mustReject(t, c, sign(t, c, timed(t0, t0.AddDate(10, 0, 0))), "exp = now + 10 years")
		mustReject(t, c, sign(t, c, timed(t0.Add(-time.Hour), t0.Add(time.Minute))), "issued an hour ago, exp in a minute")
	})

	// JWT times are whole seconds: Sign truncates iat and exp, so with a TTL
	// that is not a whole number of seconds exp - iat can exceed the TTL by
	// less than a second. signoff's own tokens must still verify.
	t.Run("TTL of 90.5s", func(t *testing.T) {
		const ttl = 90*time.Second + 500*time.Millisecond
		for _, frac := range []time.Duration{0, 300 * time.Millisecond, 700 * time.Millisecond, 999 * time.Millisecond} {
			now := t0.Add(frac)
			c := lifetimeCodec(t, k, ttl, 0, now)
			mustVerify(t, c, sign(t, c, timed(now, now.Add(ttl))), "minted at t0 + "+frac.String()+" for 90.5s")
		}
	})
}

// TestLifetimeCeilingSaturates: with a TTL and leeway so long that now +
// TTL + leeway is past the year 2262 (or overflows a Duration), the ceiling
// is the last instant whose UnixNano fits in an int64, so a verified
// token's ExpiresAt.UnixNano() never overflows.
func TestLifetimeCeilingSaturates(t *testing.T) {
	k := fixedKey("k1", accesstoken.EdDSA, 1)
	last := time.Unix(0, math.MaxInt64)
	for _, tc := range []struct {
		name        string
		ttl, leeway time.Duration
	}{
		{"TTL MaxInt64", math.MaxInt64, 0},
		{"TTL and leeway MaxInt64", math.MaxInt64, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := lifetimeCodec(t, k, tc.ttl, tc.leeway, t0)
			cl := mustVerify(t, c, sign(t, c, timed(t0, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))), "exp in 2200")
			if got := time.Unix(0, cl.ExpiresAt.UnixNano()); !got.Equal(cl.ExpiresAt) {
				t.Errorf("ExpiresAt %v does not survive UnixNano (%v)", cl.ExpiresAt, got)
			}
			mustVerify(t, c, sign(t, c, timed(t0, last.Truncate(time.Second))), "exp = the last whole second UnixNano holds")
			mustReject(t, c, sign(t, c, timed(t0, last.Add(time.Second))), "exp a second past what UnixNano holds")
			mustReject(t, c, sign(t, c, timed(t0, time.Unix(1<<62, 0))), "exp = 2^62 s")
		})
	}
}

// TestNewCodecArguments: the TTL must be positive and the leeway must not be
// negative, or the ceiling would refuse the Codec's own tokens.
func TestNewCodecArguments(t *testing.T) {
	ks := keySet(t, fixedKey("k1", accesstoken.EdDSA, 1))
	for _, tc := range []struct {
		name        string
		ttl, leeway time.Duration
	}{
		{"TTL 0", 0, 0},
		{"negative TTL", -time.Minute, 0},
		{"negative leeway", time.Minute, -time.Second},
	} {
		if c, err := accesstoken.NewCodec(ks, "signoff", "signoff", tc.ttl, tc.leeway, fixedNow); err == nil || c != nil {
			t.Errorf("%s: NewCodec = %v, %v; want an error", tc.name, c, err)
		}
	}
}
