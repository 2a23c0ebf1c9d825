package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/signoff/signoff/accesstoken"
)

// keyFile is the jwt-mode secrets file: the access-token signing keys and the
// refresh-token derivation key. It is written 0600 and never logged. It is
// kept out of the database on purpose: a copy of the database must hold no
// usable credential, and a signing key would mint them.
type keyFile struct {
	RefreshKey      string          `json:"refresh_key"`
	AccessTokenKeys json.RawMessage `json:"access_token_keys"`
}

// jwtSecrets are what jwt mode needs from the key file.
type jwtSecrets struct {
	keys       *accesstoken.KeySet
	refreshKey []byte
	created    bool
}

// loadOrCreateKeys reads the key file at path, or creates it with a new key
// of alg when there is none. Every instance that shares a store must share
// this file.
func loadOrCreateKeys(path, alg string, now time.Time) (*jwtSecrets, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeys(path, alg, now)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	sec, err := decodeSecrets(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if sec.keys.Alg() != alg {
		return nil, fmt.Errorf("key file %s holds %s keys but --jwt-alg is %s; use another --keys file", path, sec.keys.Alg(), alg)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by other users (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	return sec, nil
}

func createKeys(path, alg string, now time.Time) (*jwtSecrets, error) {
	sec, err := newSecrets(alg, now)
	if err != nil {
		return nil, err
	}
	b, err := sec.encode()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signoff-keys-*")
	if err != nil {
		return nil, fmt.Errorf("create key file beside %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Link, not rename: if another process created the file meanwhile, use
	// theirs rather than replacing keys that may already sign tokens.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadOrCreateKeys(path, alg, now)
		}
		return nil, fmt.Errorf("write key file %s: %w", path, err)
	}
	sec.created = true
	return sec, nil
}

// newSecrets makes a key set of one new key of alg and a new refresh key.
func newSecrets(alg string, now time.Time) (*jwtSecrets, error) {
	k, err := accesstoken.GenerateKey(alg, now)
	if err != nil {
		return nil, err
	}
	ks, err := accesstoken.NewKeySet(k)
	if err != nil {
		return nil, err
	}
	rk := make([]byte, 32)
	rand.Read(rk)
	return &jwtSecrets{keys: ks, refreshKey: rk}, nil
}

// encode is the key file's JSON: private keys included.
func (sec *jwtSecrets) encode() ([]byte, error) {
	enc, err := sec.keys.EncodePrivate()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(keyFile{RefreshKey: base64.RawURLEncoding.EncodeToString(sec.refreshKey), AccessTokenKeys: enc}, "", "  ")
}

// decodeSecrets parses what encode writes.
func decodeSecrets(b []byte) (*jwtSecrets, error) {
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	ks, err := accesstoken.DecodePrivate(f.AccessTokenKeys)
	if err != nil {
		return nil, err
	}
	rk, err := base64.RawURLEncoding.DecodeString(f.RefreshKey)
	if err != nil || len(rk) < 32 {
		return nil, errors.New("refresh_key must be at least 32 bytes of base64url")
	}
	return &jwtSecrets{keys: ks, refreshKey: rk}, nil
}
