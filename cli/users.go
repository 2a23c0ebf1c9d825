package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// The admin commands on accounts: list, disable, enable, delete,
// set-password. Those that change an account go through server.Admin,
// which ends the user's sessions on every running instance before the
// command returns and logs the change with the operator.

const storeSynopsis = "[--store sqlite:PATH|postgres://…] [--sessions redis://…]"

func usersList(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("users list", "users list "+storeSynopsis, stdio)
	store := storeFlag(f)
	if _, err := f.parse(args, env, 0, ""); err != nil {
		return err
	}
	a, err := admin(ctx, *store, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	us, err := a.Users.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tCREATED")
	for _, u := range us {
		line := u.ID + "\t" + u.Email + "\t" + u.CreatedAt.UTC().Format(time.RFC3339)
		if u.Disabled {
			line += "\tdisabled"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintf(stdio.Stdout, "%d %s\n", len(us), plural(len(us), "user", "users"))
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// userCommand parses the command line of an admin command on one account
// (EMAIL and the store flags, and what flags adds), finds the user and
// runs fn with a context that names the operator.
func userCommand(ctx context.Context, name string, args []string, env Env, stdio IO, flags func(*flags), fn func(context.Context, *server.Admin, *signoff.User) error) error {
	f := newFlags("users "+name, "users "+name+" "+storeSynopsis+" EMAIL", stdio)
	store := storeFlag(f)
	if flags != nil {
		flags(f)
	}
	pos, err := f.parse(args, env, 1, "an EMAIL")
	if err != nil {
		return err
	}
	return withUser(ctx, *store, pos[0], stdio, func(a *server.Admin, u *signoff.User) error {
		err := fn(signoff.WithOperator(ctx, operator()), a, u)
		var se *signoff.StatusError
		switch {
		case errors.Is(err, signoff.ErrNotFound):
			// Deleted while the command ran.
			return fmt.Errorf("no user %s", u.Email)
		case errors.As(err, &se) && se.Status == 400:
			return usageError{se.Detail}
		}
		return err
	})
}

func usersDisable(ctx context.Context, args []string, env Env, stdio IO) error {
	return userCommand(ctx, "disable", args, env, stdio, nil, func(ctx context.Context, a *server.Admin, u *signoff.User) error {
		was := u.Disabled
		n, err := a.DisableUser(ctx, u)
		if err != nil {
			return err
		}
		what := "disabled " + u.Email
		if was {
			what = u.Email + " was already disabled"
		}
		fmt.Fprintf(stdio.Stdout, "%s: sign-in is refused until 'signoff users enable'; %d %s revoked, every earlier access token rejected\n",
			what, n, plural(n, "session", "sessions"))
		return nil
	})
}

func usersEnable(ctx context.Context, args []string, env Env, stdio IO) error {
	return userCommand(ctx, "enable", args, env, stdio, nil, func(ctx context.Context, a *server.Admin, u *signoff.User) error {
		if !u.Disabled {
			fmt.Fprintf(stdio.Stdout, "%s is not disabled: nothing changed\n", u.Email)
			return nil
		}
		if err := a.EnableUser(ctx, u); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Stdout, "enabled %s: it can sign in again; the sessions ended when it was disabled stay ended\n", u.Email)
		return nil
	})
}

func usersDelete(ctx context.Context, args []string, env Env, stdio IO) error {
	return userCommand(ctx, "delete", args, env, stdio, nil, func(ctx context.Context, a *server.Admin, u *signoff.User) error {
		d, err := a.DeleteUser(ctx, u)
		if err != nil {
			return err
		}
		records := fmt.Sprintf("%d session %s deleted", d.Records, plural(d.Records, "record", "records"))
		if d.Records < 0 {
			records = "its session records expire from the session store with their sessions"
		}
		fmt.Fprintf(stdio.Stdout, "deleted %s (%s): %d %s revoked, every earlier access token rejected; %s; the address can be registered again\n",
			u.Email, u.ID, d.Revoked, plural(d.Revoked, "session", "sessions"), records)
		return nil
	})
}

func usersSetPassword(ctx context.Context, args []string, env Env, stdio IO) error {
	var keep *bool
	return userCommand(ctx, "set-password", args, env, stdio, func(f *flags) {
		keep = f.Bool("keep-sessions", false, "keep the user's sessions (by default every one ends, and every access token minted before)")
		f.synopsis = "users set-password " + storeSynopsis + " [--keep-sessions] EMAIL"
	}, func(ctx context.Context, a *server.Admin, u *signoff.User) error {
		password, err := readPassword(stdio)
		if err != nil {
			return err
		}
		n, err := a.SetPassword(ctx, u, server.NewHasher(server.OWASPParams), password, *keep)
		if err != nil {
			return err
		}
		if *keep {
			fmt.Fprintf(stdio.Stdout, "set a new password for %s; its sessions are kept (--keep-sessions)\n", u.Email)
			return nil
		}
		fmt.Fprintf(stdio.Stdout, "set a new password for %s: %d %s revoked, every earlier access token rejected\n",
			u.Email, n, plural(n, "session", "sessions"))
		return nil
	})
}
