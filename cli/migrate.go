package cli

import (
	"context"
	"fmt"

	"github.com/signoff/signoff/server"
)

// migrate is signoff migrate: it opens the stores, which applies every
// migration they lack, and says where each stands.
func migrate(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("migrate", "migrate [--store sqlite:PATH|postgres://…]", stdio)
	store := storeFlag(f)
	if _, err := f.parse(args, env, 0, ""); err != nil {
		return err
	}
	if err := store.Check(); err != nil {
		return usageError{err.Error()}
	}
	out, err := server.Migrate(ctx, *store)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdio.Stdout, out)
	return nil
}
