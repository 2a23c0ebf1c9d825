package signoff

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"unsafe"
)

// Secret is a credential on its way to or from a client: a session ID, a
// refresh token or an access token. Every way Go has of printing a value
// (String, GoString, Format with any verb, slog's LogValue, MarshalJSON,
// MarshalText) prints only its fingerprint, so a Secret that reaches a log
// line, an error or a metric leaks nothing usable (invariant I9).
//
// Reveal returns the raw value; call it only where the value must go to the
// client: a Set-Cookie header or a response body.
type Secret struct {
	// p, not the string itself: fmt cannot call the methods of a Secret
	// held in another struct's unexported field and prints such a field
	// raw, which for a pointer is an address, not the credential.
	p *string
}

// NewSecret wraps a raw credential.
func NewSecret(raw string) Secret {
	if raw == "" {
		return Secret{}
	}
	return Secret{p: &raw}
}

// raw is the wrapped value, "" for the zero Secret.
func (s Secret) raw() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// newRandomSecret returns a Secret made of 32 bytes from crypto/rand, encoded
// as unpadded base64url (43 characters). See ASVS 5.0 7.2.3 and NIST SP 800-63B
// §7.1: session secrets come from an approved random bit generator, with at
// least 64 bits of entropy; we use 256.
func newRandomSecret() Secret {
	var b [32]byte
	rand.Read(b[:]) // never fails; see crypto/rand.Read
	return NewSecret(base64.RawURLEncoding.EncodeToString(b[:]))
}

// Reveal returns the raw credential.
func (s Secret) Reveal() string { return s.raw() }

// IsZero reports whether s holds nothing.
func (s Secret) IsZero() bool { return s.raw() == "" }

// Hash returns the SHA-256 of the raw value: what stores keep instead of it.
func (s Secret) Hash() Hash { return HashString(s.raw()) }

// Equal compares two secrets in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.raw()), []byte(o.raw())) == 1
}

// Fingerprint returns a short, stable, non-reversible name for the secret:
// "fp:" and the first 12 hex digits of its Hash. The same prefix identifies
// the row that holds the hash in a store, which is what an operator needs.
func (s Secret) Fingerprint() string {
	if s.IsZero() {
		return "fp:none"
	}
	return s.Hash().String()
}

func (s Secret) String() string   { return s.Fingerprint() }
func (s Secret) GoString() string { return "signoff.Secret(" + s.Fingerprint() + ")" }

// Format prints the fingerprint whatever the verb, so %x or %q cannot reach
// the raw value either.
func (s Secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.Fingerprint()) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.Fingerprint()) }

// MarshalJSON writes the fingerprint as a JSON string. Handlers that must
// send the raw value write Reveal() into their own response type.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.Fingerprint() + `"`), nil }

// MarshalText writes the fingerprint.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.Fingerprint()), nil }

// Hash is the SHA-256 of a credential. Stores keep Hashes, never credentials,
// so a copy of a database holds nothing a client could present.
type Hash [32]byte

// HashString hashes a raw credential without allocating or copying it.
func HashString(raw string) Hash {
	// sha256.Sum256 only reads its argument, so viewing the string's bytes
	// in place cannot change the immutable string.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// String returns the fingerprint form, "fp:" and the first 12 hex digits.
func (h Hash) String() string { return "fp:" + hex.EncodeToString(h[:6]) }

// Hex returns all 64 hex digits, for stores that keep text.
func (h Hash) Hex() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h == Hash{} }

// HashFromHex parses the form Hex writes.
func HashFromHex(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("signoff: hash: want 64 hex digits, got %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("signoff: hash: %w", err)
	}
	return h, nil
}

// newID returns a random public identifier: a prefix and 16 random bytes in
// lowercase hex. IDs are not secrets (they name a session in a device list),
// but they are unguessable all the same.
func newID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// validToken reports whether s has the shape of a token signoff mints: 43
// characters of unpadded base64url. Anything else is rejected before any
// hashing or store access, so garbage costs nothing.
func validToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
