package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// The keys commands work on jwt mode's keys kept in the store (signoff
// serve with SIGNOFF_KEYS_SECRET): they need the store and the same secret
// as the servers, and every running instance has their result before they
// return.

// keysSecretFlag defines --keys-secret-file; keysSecret then reads the
// secret from that file, else from SIGNOFF_KEYS_SECRET. It returns nil when
// neither is set.
func keysSecretFlag(f *flags) *string {
	return f.String("keys-secret-file", "", "read the keys secret from this `file` instead of SIGNOFF_KEYS_SECRET: jwt mode's keys are then kept in the store, sealed under it (at least 32 bytes; the same on every instance)")
}

func keysSecret(env Env, file string) ([]byte, error) {
	var s string
	if file != "" {
		st, err := os.Stat(file)
		if err != nil {
			return nil, usagef("--keys-secret-file: %v", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, usagef("--keys-secret-file %s is readable by other users (mode %v); chmod 600 it", file, st.Mode().Perm())
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usagef("--keys-secret-file: %v", err)
		}
		s = strings.TrimRight(string(b), "\r\n")
	} else {
		s = env("SIGNOFF_KEYS_SECRET")
	}
	if s == "" {
		return nil, nil
	}
	if len(s) < server.MinKeysSecret {
		return nil, usagef("the keys secret is %d bytes; it must be at least %d (openssl rand -base64 48)", len(s), server.MinKeysSecret)
	}
	return []byte(s), nil
}

// keysAdmin opens the store for a keys command and reads the secret.
func keysAdmin(ctx context.Context, name, synopsis string, args []string, want int, what string, env Env, stdio IO) (*server.Admin, []byte, []string, error) {
	f := newFlags(name, synopsis, stdio)
	store := storeFlag(f)
	file := keysSecretFlag(f)
	pos, err := f.parse(args, env, want, what)
	if err != nil {
		return nil, nil, nil, err
	}
	secret, err := keysSecret(env, *file)
	if err != nil {
		return nil, nil, nil, err
	}
	if secret == nil {
		return nil, nil, nil, usagef("%s needs the keys secret the servers use: set SIGNOFF_KEYS_SECRET or pass --keys-secret-file", name)
	}
	a, err := admin(ctx, *store, stdio)
	if err != nil {
		return nil, nil, nil, err
	}
	return a, secret, pos, nil
}

func keysList(ctx context.Context, args []string, env Env, stdio IO) error {
	a, secret, _, err := keysAdmin(ctx, "keys list", "keys list [--store …] [--keys-secret-file FILE]", args, 0, "", env, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, v, err := a.ListKeys(ctx, secret)
	if err != nil {
		return err
	}
	for _, k := range keys {
		role := "verifies"
		if k.Signing {
			role = "signs"
		}
		fmt.Fprintf(stdio.Stdout, "%s  %s  created %s  %s\n", k.ID, k.Alg, k.Created.UTC().Format(time.RFC3339), role)
	}
	fmt.Fprintf(stdio.Stdout, "%d keys, version %d\n", len(keys), v)
	return nil
}

func keysRotate(ctx context.Context, args []string, env Env, stdio IO) error {
	a, secret, _, err := keysAdmin(ctx, "keys rotate", "keys rotate [--store …] [--sessions …] [--keys-secret-file FILE]", args, 0, "", env, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	kid, err := a.RotateKeys(signoff.WithOperator(ctx, operator()), secret, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Stdout, "rotated: %s signs from now on, on every running instance; tokens signed before stay valid until they expire\n", kid)
	return nil
}

func keysRevoke(ctx context.Context, args []string, env Env, stdio IO) error {
	a, secret, pos, err := keysAdmin(ctx, "keys revoke", "keys revoke [--store …] [--sessions …] [--keys-secret-file FILE] KID", args, 1, "a key ID (from 'signoff keys list')", env, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.RevokeKey(signoff.WithOperator(ctx, operator()), secret, pos[0], time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Stdout, "revoked key %s on every running instance: every token it signed is refused\n", pos[0])
	return nil
}
