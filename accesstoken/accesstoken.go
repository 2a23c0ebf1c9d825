// Package accesstoken signs and verifies signoff's JWT access tokens
// (RFC 9068 profile): header typ "at+jwt" and kid; claims iss, aud, sub, sid
// (the session), av (the user's auth_version), exp, iat, nbf and jti.
//
// Ed25519 (alg EdDSA) is the default; HS256 is an option for deployments
// where only the issuer verifies. Each key set holds one algorithm, and a
// token is checked against the key its kid names and that key's algorithm
// only, so "alg": "none" and HS256-signed-with-the-public-key forgeries fail
// (ASVS 5.0 9.1.1, R41).
//
// A Codec knows the access-token TTL, and Verify refuses a token that lives
// longer than it allows, whoever signed it: an access token is short-lived
// by definition (DESIGN I7), and the verified-token cache and the revoked-sid
// denylist rely on exp being near.
package accesstoken

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signoff/signoff/internal/httpx"
)

// Algorithms a key may use.
const (
	EdDSA = "EdDSA"
	HS256 = "HS256"
)

// Type is the JWT header typ of an access token (RFC 9068 §2.1).
const Type = "at+jwt"

// MaxLen bounds the length of a token Verify will parse.
const MaxLen = 4096

// maxExp is the latest exp Verify accepts, whatever the TTL: the last instant
// whose UnixNano fits in an int64 (in the year 2262). A caller may therefore
// keep a verified token's ExpiresAt as Unix nanoseconds without overflow.
var maxExp = time.Unix(0, math.MaxInt64)

// ErrInvalid is wrapped by every verification failure. The text after it
// says why; it never contains the token.
var ErrInvalid = errors.New("accesstoken: invalid token")

// Key is one signing key. Its String names only its kid.
type Key struct {
	ID      string
	Alg     string
	Private ed25519.PrivateKey // EdDSA
	Secret  []byte             // HS256
	Created time.Time
}

func (k *Key) String() string { return "accesstoken.Key(" + k.Alg + " " + k.ID + ")" }

// GenerateKey makes a new key for alg, with a random kid.
func GenerateKey(alg string, now time.Time) (*Key, error) {
	var id [8]byte
	rand.Read(id[:])
	k := &Key{ID: hex.EncodeToString(id[:]), Alg: alg, Created: now.UTC()}
	switch alg {
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("accesstoken: generate key: %w", err)
		}
		k.Private = priv
	case HS256:
		k.Secret = make([]byte, 32)
		rand.Read(k.Secret)
	default:
		return nil, fmt.Errorf("accesstoken: unknown algorithm %q (want %s or %s)", alg, EdDSA, HS256)
	}
	return k, nil
}

func (k *Key) valid() error {
	switch {
	case k.ID == "":
		return errors.New("accesstoken: key without a kid")
	case k.Alg == EdDSA && len(k.Private) != ed25519.PrivateKeySize:
		return fmt.Errorf("accesstoken: key %s: Ed25519 private key has the wrong size", k.ID)
	case k.Alg == HS256 && len(k.Secret) < 32:
		return fmt.Errorf("accesstoken: key %s: an HS256 secret needs at least 32 bytes", k.ID)
	case k.Alg != EdDSA && k.Alg != HS256:
		return fmt.Errorf("accesstoken: key %s: unknown algorithm %q", k.ID, k.Alg)
	}
	return nil
}

func (k *Key) verifyKey() any {
	if k.Alg == HS256 {
		return k.Secret
	}
	return k.Private.Public()
}

// KeySet is an immutable list of keys of one algorithm. The first key signs;
// every key verifies, so tokens signed before a rotation stay valid until
// they expire.
type KeySet struct {
	keys []*Key
}

// NewKeySet checks keys and returns them as a set; keys[0] signs.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("accesstoken: a key set needs at least one key")
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if err := k.valid(); err != nil {
			return nil, err
		}
		if k.Alg != keys[0].Alg {
			return nil, fmt.Errorf("accesstoken: key %s is %s but the set is %s; one algorithm per set", k.ID, k.Alg, keys[0].Alg)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("accesstoken: kid %s appears twice", k.ID)
		}
		seen[k.ID] = true
	}
	return &KeySet{keys: append([]*Key(nil), keys...)}, nil
}

// Signing returns the key that signs new tokens.
func (s *KeySet) Signing() *Key { return s.keys[0] }

// Keys returns the keys, the signing key first.
func (s *KeySet) Keys() []*Key { return append([]*Key(nil), s.keys...) }

// Alg returns the set's algorithm.
func (s *KeySet) Alg() string { return s.keys[0].Alg }

// Lookup returns the key with that kid, or nil.
func (s *KeySet) Lookup(kid string) *Key {
	for _, k := range s.keys {
		if k.ID == kid {
			return k
		}
	}
	return nil
}

// Rotate returns a set where k signs and the newest keep-1 earlier keys still
// verify. Keep an old key for at least the access-token TTL after rotating.
func (s *KeySet) Rotate(k *Key, keep int) (*KeySet, error) {
	if keep < 1 {
		keep = 1
	}
	keys := append([]*Key{k}, s.keys...)
	if len(keys) > keep {
		keys = keys[:keep]
	}
	return NewKeySet(keys...)
}

// JWK is a public key in RFC 8037 (OKP) form.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the public keys of an EdDSA set as a JWK Set (RFC 7517 §5).
// An HS256 set has no public keys: the result is empty.
func (s *KeySet) JWKS() map[string][]JWK {
	out := []JWK{}
	for _, k := range s.keys {
		if k.Alg != EdDSA {
			continue
		}
		pub := k.Private.Public().(ed25519.PublicKey)
		out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: k.ID, Alg: EdDSA, Use: "sig"})
	}
	return map[string][]JWK{"keys": out}
}

type keyFile struct {
	Keys []keyFileEntry `json:"keys"`
}

type keyFileEntry struct {
	Kid     string    `json:"kid"`
	Alg     string    `json:"alg"`
	Key     string    `json:"key"` // base64url: the Ed25519 seed or the HS256 secret
	Created time.Time `json:"created"`
}

// EncodePrivate returns the set, private keys included, for a key file that
// only the server may read. KeySet has no MarshalJSON on purpose: private
// keys are written only when asked for by name.
func (s *KeySet) EncodePrivate() ([]byte, error) {
	var f keyFile
	for _, k := range s.keys {
		raw := k.Secret
		if k.Alg == EdDSA {
			raw = k.Private.Seed()
		}
		f.Keys = append(f.Keys, keyFileEntry{Kid: k.ID, Alg: k.Alg, Key: base64.RawURLEncoding.EncodeToString(raw), Created: k.Created})
	}
	return json.MarshalIndent(f, "", "  ")
}

// DecodePrivate parses what EncodePrivate writes.
func DecodePrivate(b []byte) (*KeySet, error) {
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("accesstoken: key file: %w", err)
	}
	var keys []*Key
	for _, e := range f.Keys {
		raw, err := base64.RawURLEncoding.DecodeString(e.Key)
		if err != nil {
			return nil, fmt.Errorf("accesstoken: key file: key %s: %w", e.Kid, err)
		}
		k := &Key{ID: e.Kid, Alg: e.Alg, Created: e.Created}
		switch e.Alg {
		case EdDSA:
			if len(raw) != ed25519.SeedSize {
				return nil, fmt.Errorf("accesstoken: key file: key %s: an Ed25519 seed has %d bytes", e.Kid, ed25519.SeedSize)
			}
			k.Private = ed25519.NewKeyFromSeed(raw)
		default:
			k.Secret = raw
		}
		keys = append(keys, k)
	}
	return NewKeySet(keys...)
}

// Claims are the claims of an access token.
type Claims struct {
	Issuer      string
	Audience    string
	Subject     string // the user ID
	SessionID   string // sid
	AuthVersion int64  // av
	ID          string // jti
	IssuedAt    time.Time
	NotBefore   time.Time
	ExpiresAt   time.Time
}

type wireClaims struct {
	jwt.RegisteredClaims
	SID string `json:"sid"`
	AV  int64  `json:"av"`
}

// Codec signs and verifies access tokens. It is safe for concurrent use;
// SetKeys swaps the key set atomically.
type Codec struct {
	issuer   string
	audience string
	leeway   time.Duration
	life     time.Duration // ttl + leeway, saturated: the longest a token may live
	now      func() time.Time
	keys     atomic.Pointer[KeySet]
}

// NewCodec returns a Codec that issues tokens for issuer and audience and
// accepts only tokens with exactly those. now may be nil for time.Now.
//
// ttl is the access-token lifetime the issuer grants; it must be positive.
// Verify rejects a token that lives longer (see Verify), so after ttl is
// lowered the tokens minted for the old, longer one fail and clients refresh.
//
// leeway is the clock skew allowed on exp, nbf and iat, and also the
// allowance on the ttl ceiling; it must not be negative. The allowance is
// leeway rather than a fixed amount because leeway is exactly what a token
// honestly minted by an instance whose clock runs ahead needs: up to leeway
// ahead, its iat passes and its exp is at most now + ttl + leeway; further
// ahead, its iat fails anyway. A fixed allowance on top would admit no
// honest token more; it would only let a token with a stretched exp live
// past now + ttl + leeway, the horizon until which signoff's Manager holds a
// revoked session in its denylist (DESIGN I7). With leeway 0
// (signoff.Config's default), exp may be at most now + ttl.
func NewCodec(keys *KeySet, issuer, audience string, ttl, leeway time.Duration, now func() time.Time) (*Codec, error) {
	if keys == nil {
		return nil, errors.New("accesstoken: no keys")
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("accesstoken: issuer and audience are required")
	}
	if ttl <= 0 {
		return nil, errors.New("accesstoken: the access-token TTL must be positive")
	}
	if leeway < 0 {
		return nil, errors.New("accesstoken: leeway must not be negative")
	}
	if now == nil {
		now = time.Now
	}
	life := ttl + leeway
	if life < ttl { // overflow
		life = math.MaxInt64
	}
	c := &Codec{issuer: issuer, audience: audience, leeway: leeway, life: life, now: now}
	c.keys.Store(keys)
	return c, nil
}

// Keys returns the current key set.
func (c *Codec) Keys() *KeySet { return c.keys.Load() }

// SetKeys replaces the key set, for rotation.
func (c *Codec) SetKeys(ks *KeySet) { c.keys.Store(ks) }

// Sign mints a token for cl. Issuer and Audience come from the Codec. Sign
// takes the times as given (JWT times are whole seconds: it truncates them);
// a token that lives longer than the TTL will not verify.
//
// It writes the header and claims itself, without reflection: a token is
// minted on every login and refresh. The bytes are the ones golang-jwt
// would sign (header keys sorted, claims in wireClaims' order, aud an
// array, empty iss, sub and jti left out), so the tokens are the same.
func (c *Codec) Sign(cl Claims) (string, error) {
	k := c.keys.Load().Signing()
	var js [256]byte
	h := append(js[:0], `{"alg":`...)
	h = httpx.AppendString(h, k.Alg)
	h = append(h, `,"kid":`...)
	h = httpx.AppendString(h, k.ID)
	h = append(h, `,"typ":"`+Type+`"}`...)
	tok := make([]byte, 0, 2*len(js))
	tok = appendSegment(tok, h)

	b := append(js[:0], '{')
	if c.issuer != "" {
		b = httpx.AppendString(append(b, `"iss":`...), c.issuer)
		b = append(b, ',')
	}
	if cl.Subject != "" {
		b = httpx.AppendString(append(b, `"sub":`...), cl.Subject)
		b = append(b, ',')
	}
	b = httpx.AppendString(append(b, `"aud":[`...), c.audience)
	b = appendSeconds(append(b, `],"exp":`...), cl.ExpiresAt)
	b = appendSeconds(append(b, `,"nbf":`...), cl.NotBefore)
	b = appendSeconds(append(b, `,"iat":`...), cl.IssuedAt)
	if cl.ID != "" {
		b = httpx.AppendString(append(b, `,"jti":`...), cl.ID)
	}
	b = httpx.AppendString(append(b, `,"sid":`...), cl.SessionID)
	b = strconv.AppendInt(append(b, `,"av":`...), cl.AuthVersion, 10)
	b = append(b, '}')
	tok = appendSegment(append(tok, '.'), b)

	var sig []byte
	switch k.Alg {
	case HS256:
		mac := hmac.New(sha256.New, k.Secret)
		mac.Write(tok)
		sig = mac.Sum(js[:0])
	default:
		if len(k.Private) != ed25519.PrivateKeySize {
			return "", errors.New("accesstoken: sign: not an Ed25519 private key")
		}
		sig = ed25519.Sign(k.Private, tok)
	}
	return string(appendSegment(append(tok, '.'), sig)), nil
}

// appendSegment appends b in base64url without padding, as JWS encodes
// each part.
func appendSegment(dst, b []byte) []byte {
	return base64.RawURLEncoding.AppendEncode(dst, b)
}

// appendSeconds appends t as a JWT NumericDate: whole seconds since the
// epoch.
func appendSeconds(dst []byte, t time.Time) []byte {
	return strconv.AppendInt(dst, t.Truncate(time.Second).Unix(), 10)
}

// Verify checks the token's form, type, key, algorithm, signature, issuer,
// audience and times, and returns its claims. Every failure wraps ErrInvalid.
//
// The times: iat, nbf and exp are required (RFC 9068 §2.2 requires iat;
// without it a token's lifetime cannot be checked, and signoff mints none
// without it). With now the Codec's clock and the leeway of NewCodec, exp
// must be after now - leeway, nbf and iat not after now + leeway, and the
// token must not live longer than the TTL allows:
//
//   - exp must not be later than now + ttl + leeway, nor than the last
//     instant whose UnixNano fits in an int64 (in the year 2262);
//   - exp - iat must not exceed ttl + leeway, rounded up to a whole second
//     (JWT times are whole seconds, so a token minted for a ttl of 90.5s at
//     0.7s past a second carries exp - iat = 91s).
//
// So a token signed with a genuine key but a long exp — ten years, or one
// near 2^62 seconds that would overflow a nanosecond clock — fails, and the
// returned ExpiresAt.UnixNano() is exact: a caller may cache a token until
// its exp in Unix nanoseconds.
func (c *Codec) Verify(token string) (*Claims, error) {
	return c.VerifyUnder(token, c.keys.Load())
}

// VerifyUnder is Verify against the key set ks rather than the codec's
// current one. A caller that remembers what it verified (the Manager's
// cache) reads the set once, verifies under it and files the token under
// it: had Verify read the set again, the set could move between the two
// reads (and back, to the very same set) and a token be filed under a set
// that does not accept it.
func (c *Codec) VerifyUnder(token string, ks *KeySet) (*Claims, error) {
	if len(token) > MaxLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxLen)
	}
	if strings.Count(token, ".") != 2 || !base64url(token) {
		return nil, fmt.Errorf("%w: not a JWS compact serialization", ErrInvalid)
	}
	now := c.now() // one reading for every time check
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{ks.Alg()}),
		jwt.WithIssuer(c.issuer),
		jwt.WithAudience(c.audience),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(c.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithStrictDecoding(),
	)
	var wc wireClaims
	_, err := p.ParseWithClaims(token, &wc, func(t *jwt.Token) (any, error) {
		typ, _ := t.Header["typ"].(string)
		if !strings.EqualFold(typ, Type) && !strings.EqualFold(typ, "application/"+Type) {
			return nil, errors.New("typ is not at+jwt")
		}
		kid, _ := t.Header["kid"].(string)
		k := ks.Lookup(kid)
		if k == nil {
			return nil, errors.New("unknown kid")
		}
		if t.Method.Alg() != k.Alg {
			return nil, errors.New("alg does not match the key")
		}
		return k.verifyKey(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, reason(err))
	}
	if wc.Subject == "" || wc.SID == "" || wc.ID == "" {
		return nil, fmt.Errorf("%w: sub, sid or jti missing", ErrInvalid)
	}
	// WithIssuedAt checks iat only when present; RFC 9068 §2.2 requires it.
	if wc.IssuedAt == nil || wc.NotBefore == nil || wc.ExpiresAt == nil {
		return nil, fmt.Errorf("%w: iat, nbf or exp missing", ErrInvalid)
	}
	if err := c.checkLifetime(now, wc.IssuedAt.Time, wc.ExpiresAt.Time); err != nil {
		return nil, err
	}
	return &Claims{
		Issuer: wc.Issuer, Audience: c.audience, Subject: wc.Subject, SessionID: wc.SID,
		AuthVersion: wc.AV, ID: wc.ID,
		IssuedAt: wc.IssuedAt.Time, NotBefore: wc.NotBefore.Time, ExpiresAt: wc.ExpiresAt.Time,
	}, nil
}

// checkLifetime applies Verify's ceiling on exp and on exp - iat.
func (c *Codec) checkLifetime(now, iat, exp time.Time) error {
	latest := now.Add(c.life)
	if latest.After(maxExp) {
		latest = maxExp
	}
	if exp.After(latest) {
		return fmt.Errorf("%w: exp is later than the access-token TTL allows", ErrInvalid)
	}
	if exp.Sub(iat) > ceilSecond(c.life) { // Sub saturates
		return fmt.Errorf("%w: exp - iat is longer than the access-token TTL", ErrInvalid)
	}
	return nil
}

// ceilSecond rounds d up to a whole number of seconds, saturating.
func ceilSecond(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		if d > math.MaxInt64-time.Second {
			return math.MaxInt64
		}
		d += time.Second - r
	}
	return d
}

// base64url reports whether s holds only the base64url alphabet and dots.
// Go's decoder skips CR and LF even in strict mode, so without this check
// one signed token would verify in many spellings.
func base64url(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// reason shortens golang-jwt's error to what a client may be told.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable: " + lastPart(err)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	}
	return lastPart(err)
}

// lastPart returns the innermost message of golang-jwt's joined errors; none
// of them quotes the token.
func lastPart(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
