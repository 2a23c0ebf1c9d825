package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
)

// jwt mode's keys kept in the shared store (Config.KeysSecret): every
// instance on one PostgreSQL (or SQLite file) starts with no key file. The
// store holds one row, the key file's JSON sealed with AES-256-GCM under a
// key derived (HKDF-SHA256) from a secret that only the instances have, so
// a copy of the database mints nothing. A change of the keys (signoff keys
// rotate, keys revoke) is saved, then published on the revocation bus
// (signoff.Revocation's Keys), and every instance loads it before the bus
// acknowledges: when the command returns, every running instance has it.

// MinKeysSecret is the shortest SIGNOFF_KEYS_SECRET accepted, in bytes.
const MinKeysSecret = 32

// keyStore is a store that can keep the sealed key set: sqlitestore and
// pgstore.
type keyStore interface {
	LoadKeys(ctx context.Context) ([]byte, int64, error)
	SaveKeys(ctx context.Context, sealed []byte, prev int64) (int64, error)
}

// sharedKeys is the key set in a store, sealed under the keys secret.
type sharedKeys struct {
	store keyStore
	aead  cipher.AEAD
}

// sealedAD binds a sealed blob to its use.
var sealedAD = []byte("signoff_keys v1")

func newSharedKeys(store keyStore, secret []byte) (*sharedKeys, error) {
	if len(secret) < MinKeysSecret {
		return nil, fmt.Errorf("the keys secret is %d bytes; it must be at least %d (openssl rand -base64 48)", len(secret), MinKeysSecret)
	}
	k, err := hkdf.Key(sha256.New, secret, nil, "signoff jwt keys v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sharedKeys{store: store, aead: aead}, nil
}

func (k *sharedKeys) seal(plain []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plain, sealedAD)
}

func (k *sharedKeys) open(sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("the keys in the store are damaged")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], sealedAD)
	if err != nil {
		return nil, errors.New("the keys in the store do not open with this keys secret: every instance and admin command needs the one that sealed them")
	}
	return plain, nil
}

// load returns the key set in the store and its version, or
// signoff.ErrNotFound.
func (k *sharedKeys) load(ctx context.Context) (*jwtSecrets, int64, error) {
	sealed, v, err := k.store.LoadKeys(ctx)
	if err != nil {
		return nil, 0, err
	}
	plain, err := k.open(sealed)
	if err != nil {
		return nil, 0, err
	}
	sec, err := decodeSecrets(plain)
	if err != nil {
		return nil, 0, fmt.Errorf("the keys in the store: %w", err)
	}
	return sec, v, nil
}

// save stores sec as the version after prev; 0 when another process
// changed the keys first.
func (k *sharedKeys) save(ctx context.Context, sec *jwtSecrets, prev int64) (int64, error) {
	b, err := sec.encode()
	if err != nil {
		return 0, err
	}
	return k.store.SaveKeys(ctx, k.seal(b), prev)
}

// loadOrCreate returns the key set in the store, creating one of alg when
// there is none (the first instance to start; a race is won by one).
func (k *sharedKeys) loadOrCreate(ctx context.Context, alg string, now time.Time) (*jwtSecrets, int64, error) {
	for range 3 {
		sec, v, err := k.load(ctx)
		if !errors.Is(err, signoff.ErrNotFound) {
			if err == nil && sec.keys.Alg() != alg {
				return nil, 0, fmt.Errorf("the keys in the store are %s keys but --jwt-alg is %s", sec.keys.Alg(), alg)
			}
			return sec, v, err
		}
		sec, err = newSecrets(alg, now)
		if err != nil {
			return nil, 0, err
		}
		v, err = k.save(ctx, sec, 0)
		if err != nil {
			return nil, 0, err
		}
		if v != 0 {
			sec.created = true
			return sec, v, nil
		}
	}
	return nil, 0, errors.New("the keys in the store keep changing")
}

// change applies edit to the key set in the store and saves it, retrying
// when another process changed it meanwhile. It returns the new version.
func (k *sharedKeys) change(ctx context.Context, edit func(*accesstoken.KeySet) (*accesstoken.KeySet, error)) (int64, *accesstoken.KeySet, error) {
	for range 5 {
		sec, v, err := k.load(ctx)
		if errors.Is(err, signoff.ErrNotFound) {
			return 0, nil, errors.New("the store holds no keys: start signoff serve --mode jwt with the keys secret once to create them")
		}
		if err != nil {
			return 0, nil, err
		}
		ks, err := edit(sec.keys)
		if err != nil {
			return 0, nil, err
		}
		sec.keys = ks
		nv, err := k.save(ctx, sec, v)
		if err != nil {
			return 0, nil, err
		}
		if nv != 0 {
			return nv, ks, nil
		}
	}
	return 0, nil, errors.New("the keys in the store keep changing; try again")
}

// reloadKeys loads the key set from the store when it is newer than the
// one in force, and puts it in force.
func (s *Server) reloadKeys(ctx context.Context) error {
	sec, v, err := s.keys.load(ctx)
	if err != nil {
		return err
	}
	if v <= s.keyVersion.Load() {
		return nil
	}
	if err := s.mgr.SetKeys(sec.keys); err != nil {
		return err
	}
	s.keyVersion.Store(v)
	s.log.Info("jwt keys loaded from the store", "version", v, "signing", sec.keys.Signing().ID, "keys", len(sec.keys.Keys()))
	return nil
}

// KeysInfo describes one key of the set in the store, for keys list.
type KeysInfo struct {
	ID, Alg string
	Created time.Time
	Signing bool
}

// ListKeys returns the keys in the store, the signing one first.
func (a *Admin) ListKeys(ctx context.Context, secret []byte) ([]KeysInfo, int64, error) {
	k, err := a.sharedKeys(secret)
	if err != nil {
		return nil, 0, err
	}
	sec, v, err := k.load(ctx)
	if errors.Is(err, signoff.ErrNotFound) {
		return nil, 0, errors.New("the store holds no keys: start signoff serve --mode jwt with the keys secret once to create them")
	}
	if err != nil {
		return nil, 0, err
	}
	var out []KeysInfo
	for i, key := range sec.keys.Keys() {
		out = append(out, KeysInfo{ID: key.ID, Alg: key.Alg, Created: key.Created, Signing: i == 0})
	}
	return out, v, nil
}

// keysKept is how many keys a rotation keeps: the new one and the two
// before it, whose tokens still verify until they expire.
const keysKept = 3

// RotateKeys makes a new signing key on every running instance, without a
// restart, and returns its ID. It goes in two steps, each published and
// loaded by every instance before the next: first the new key is added to
// verify only, then it signs. So no instance ever meets a token signed
// with a key it does not know. The earlier keys stay, to verify the tokens
// they signed until those expire; JWKS shows them all meanwhile.
func (a *Admin) RotateKeys(ctx context.Context, secret []byte, now time.Time) (string, error) {
	ctx = signoff.WithAction(ctx, "keys.rotated")
	k, err := a.sharedKeys(secret)
	if err != nil {
		return "", err
	}
	var fresh *accesstoken.Key
	v, _, err := k.change(ctx, func(ks *accesstoken.KeySet) (*accesstoken.KeySet, error) {
		if fresh, err = accesstoken.GenerateKey(ks.Alg(), now); err != nil {
			return nil, err
		}
		return accesstoken.NewKeySet(append(ks.Keys(), fresh)...)
	})
	if err != nil {
		return "", err
	}
	if err := a.publishKeys(ctx, v, now); err != nil {
		return "", err
	}
	v, _, err = k.change(ctx, func(ks *accesstoken.KeySet) (*accesstoken.KeySet, error) {
		others := slices.DeleteFunc(ks.Keys(), func(key *accesstoken.Key) bool { return key.ID == fresh.ID })
		if len(others) > keysKept-1 {
			others = others[:keysKept-1]
		}
		return accesstoken.NewKeySet(append([]*accesstoken.Key{fresh}, others...)...)
	})
	if err != nil {
		return "", err
	}
	return fresh.ID, a.publishKeys(ctx, v, now)
}

// RevokeKey removes the key kid from the set on every running instance
// before it returns: every token it signed is refused at once, cached or
// not (a key compromise). If kid signs, a new key is rotated in first.
func (a *Admin) RevokeKey(ctx context.Context, secret []byte, kid string, now time.Time) error {
	list, _, err := a.ListKeys(ctx, secret)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(ki KeysInfo) bool { return ki.ID == kid })
	if i < 0 {
		return fmt.Errorf("no key %s in the store ('signoff keys list' lists them)", kid)
	}
	if i == 0 {
		if _, err := a.RotateKeys(ctx, secret, now); err != nil {
			return err
		}
	}
	ctx = signoff.WithAction(ctx, "keys.revoked")
	k, _ := a.sharedKeys(secret)
	v, _, err := k.change(ctx, func(ks *accesstoken.KeySet) (*accesstoken.KeySet, error) {
		rest := slices.DeleteFunc(ks.Keys(), func(key *accesstoken.Key) bool { return key.ID == kid })
		return accesstoken.NewKeySet(rest...)
	})
	if err != nil {
		return err
	}
	return a.publishKeys(ctx, v, now)
}

// publishKeys tells every running instance that the key set is now
// version v, and returns once each has loaded it.
func (a *Admin) publishKeys(ctx context.Context, v int64, now time.Time) error {
	// Kept in the bus's log long enough for an instance that is
	// reconnecting to catch up on it.
	r := signoff.Revocation{Keys: v, Until: now.Add(time.Hour), Operator: signoff.OperatorFrom(ctx), Action: signoff.ActionFrom(ctx)}
	if err := a.bus.Publish(ctx, r); err != nil {
		return fmt.Errorf("the keys are saved (version %d), but not every running instance confirmed it loaded them: %w", v, err)
	}
	return nil
}

func (a *Admin) sharedKeys(secret []byte) (*sharedKeys, error) {
	ks, ok := a.Users.(keyStore)
	if !ok {
		return nil, errors.New("this store cannot keep jwt keys: use sqlite: or postgres://")
	}
	return newSharedKeys(ks, secret)
}

// jwtKeys loads jwt mode's keys from where Config says they live: the key
// file (--keys, or beside the SQLite file), or the store (KeysSecret).
func (s *Server) jwtKeys(ctx context.Context, b *Backend, dbPath string) (*jwtSecrets, error) {
	cfg := s.cfg
	if cfg.KeysFile == "" && cfg.KeysSecret != nil {
		ks, ok := b.Users.(keyStore)
		if !ok {
			return nil, errors.New("this store cannot keep jwt keys: use --keys FILE")
		}
		k, err := newSharedKeys(ks, cfg.KeysSecret)
		if err != nil {
			return nil, err
		}
		sec, v, err := k.loadOrCreate(ctx, cfg.JWTAlg, cfg.Now())
		if err != nil {
			return nil, err
		}
		if sec.created {
			s.log.Info("created the jwt keys in the store, sealed under the keys secret; every instance and admin command needs the same secret", "alg", cfg.JWTAlg)
		}
		s.keys = k
		s.keyVersion.Store(v)
		return sec, nil
	}
	path := cfg.KeysFile
	if path == "" {
		if dbPath == "" {
			return nil, errors.New("jwt mode with a shared store needs its keys: set SIGNOFF_KEYS_SECRET (or --keys-secret-file) to keep them in the store, sealed, or pass --keys FILE, the same file on every instance")
		}
		path = strings.TrimSuffix(dbPath, filepath.Ext(dbPath)) + ".keys.json"
	}
	sec, err := loadOrCreateKeys(path, cfg.JWTAlg, cfg.Now())
	if err != nil {
		return nil, err
	}
	if sec.created {
		s.log.Info("created the jwt key file; every instance sharing this store needs the same one", "path", path, "alg", cfg.JWTAlg)
	}
	return sec, nil
}
