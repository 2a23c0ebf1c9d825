package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// OWASPParams is the argon2id configuration of OWASP's Password Storage Cheat
// Sheet: 19 MiB of memory, 2 iterations, 1 degree of parallelism.
var OWASPParams = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Password length limits: NIST SP 800-63B §5.1.1.2 asks for at least 8
	// characters and for accepting at least 64; the upper bound only keeps a
	// request from buying unbounded hashing.
	minPassword = 8
	maxPassword = 1024
)

var errBadHash = errors.New("server: malformed password hash")

// Hasher hashes and verifies passwords. At most slots hashes run at once, so
// a burst of logins cannot take 19 MiB each without bound.
type Hasher struct {
	p     Argon2Params
	slots chan struct{}
	dummy string       // a hash of a random password, verified when the email is unknown
	runs  atomic.Int64 // argon2id computations, hashing and verifying
}

// NewHasher returns a Hasher with the cost p.
func NewHasher(p Argon2Params) *Hasher {
	h := &Hasher{p: p, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
	var pw [24]byte
	rand.Read(pw[:])
	h.dummy, _ = h.hash(context.Background(), string(pw[:]))
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// hash returns a PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$key.
func (h *Hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, saltLen)
	rand.Read(salt)
	h.runs.Add(1)
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches the PHC string encoded, in
// constant time. An unknown user is verified against the dummy hash, so a
// login costs one argon2id whether or not the email exists.
func (h *Hasher) verify(ctx context.Context, encoded, password string) (bool, error) {
	if encoded == "" {
		encoded = h.dummy
	}
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	h.runs.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parsePHC(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) {
		return p, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// checkPassword applies the length rules; it never echoes the password.
func checkPassword(pw string) error {
	n := len([]rune(pw))
	switch {
	case n < minPassword:
		return fmt.Errorf("the password needs at least %d characters", minPassword)
	case len(pw) > maxPassword:
		return fmt.Errorf("the password may have at most %d bytes", maxPassword)
	}
	return nil
}
