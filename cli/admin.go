package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// admin opens the stores named by --store and --sessions for an admin
// command.
func admin(ctx context.Context, st server.Stores, stdio IO) (*server.Admin, error) {
	if err := st.Check(); err != nil {
		return nil, usageError{err.Error()}
	}
	// Info: the audit events of what the command does (docs/events.md)
	// are its log, on stderr; its result is on stdout.
	log := slog.New(slog.NewTextHandler(stdio.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	libraryLogs(log)
	return server.OpenAdmin(ctx, st, log)
}

func usersAdd(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("users add", "users add [--store sqlite:PATH|postgres://…] [--sessions redis://…] EMAIL", stdio)
	store := storeFlag(f)
	pos, err := f.parse(args, env, 1, "an EMAIL")
	if err != nil {
		return err
	}
	email, err := server.NormalizeEmail(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	password, err := readPassword(stdio)
	if err != nil {
		return err
	}
	a, err := admin(ctx, *store, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := server.NewUser(ctx, a.Users, server.NewHasher(server.OWASPParams), email, password, time.Now())
	var re *signoff.StatusError
	switch {
	case errors.As(err, &re):
		return usageError{re.Detail}
	case errors.Is(err, signoff.ErrEmailTaken):
		return fmt.Errorf("%s is already registered", email)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdio.Stdout, "added %s (%s)\n", u.Email, u.ID)
	return nil
}

// readPassword prompts twice without echo on a terminal, or reads one line
// from a pipe. The password is never printed.
func readPassword(stdio IO) (string, error) {
	if f, ok := stdio.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdio.Stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdio.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stdio.Stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdio.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", usagef("the passwords do not match")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdio.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("no password on stdin (pipe one line, or run in a terminal to be prompted)")
	}
	return line, nil
}

// userByEmail finds a user for an admin command, with a readable error.
func userByEmail(ctx context.Context, a *server.Admin, raw string) (*signoff.User, error) {
	email, err := server.NormalizeEmail(raw)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	u, err := a.Users.UserByEmail(ctx, email)
	if errors.Is(err, signoff.ErrNotFound) {
		return nil, fmt.Errorf("no user %s", email)
	}
	return u, err
}

func usersLogoutAll(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("users logout-all", "users logout-all [--store sqlite:PATH|postgres://…] [--sessions redis://…] EMAIL", stdio)
	store := storeFlag(f)
	pos, err := f.parse(args, env, 1, "an EMAIL")
	if err != nil {
		return err
	}
	return withUser(ctx, *store, pos[0], stdio, func(a *server.Admin, u *signoff.User) error {
		n, err := a.Manager.RevokeUser(signoff.WithAction(signoff.WithOperator(ctx, operator()), signoff.EventLogoutAll), u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdio.Stdout, "signed %s out everywhere: %d sessions revoked, every earlier access token rejected\n", u.Email, n)
		return nil
	})
}

// withUser opens the store for an admin command, finds the user with that
// email and runs fn, closing the store after.
func withUser(ctx context.Context, store server.Stores, email string, stdio IO, fn func(*server.Admin, *signoff.User) error) error {
	a, err := admin(ctx, store, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := userByEmail(ctx, a, email)
	if err != nil {
		return err
	}
	return fn(a, u)
}

func sessionsList(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("sessions list", "sessions list [--store sqlite:PATH|postgres://…] [--sessions redis://…] --user EMAIL", stdio)
	store := storeFlag(f)
	user := f.String("user", "", "the user's `email`")
	if _, err := f.parse(args, env, 0, ""); err != nil {
		return err
	}
	if *user == "" {
		return usagef("sessions list needs --user EMAIL")
	}
	return withUser(ctx, *store, *user, stdio, func(a *server.Admin, u *signoff.User) error {
		ss, err := a.Manager.Sessions(ctx, u.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tLAST SEEN\tEXPIRES\tIP\tUSER AGENT")
		for _, s := range ss {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, stamp(s.CreatedAt), stamp(s.LastSeenAt), stamp(s.ExpiresAt), s.IP, agent(s.UserAgent))
		}
		tw.Flush()
		fmt.Fprintf(stdio.Stdout, "%d live sessions for %s\n", len(ss), u.Email)
		return nil
	})
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func agent(s string) string {
	if len(s) > 40 {
		return s[:39] + "…"
	}
	return s
}

func sessionsRevoke(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("sessions revoke", "sessions revoke [--store sqlite:PATH|postgres://…] [--sessions redis://…] ID", stdio)
	store := storeFlag(f)
	pos, err := f.parse(args, env, 1, "a session ID (from 'signoff sessions list')")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(pos[0], "ses_") {
		return usagef("%q is not a session ID (they start with ses_)", pos[0])
	}
	a, err := admin(ctx, *store, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	// Revoking a session that is not live would change nothing: say so,
	// rather than "revoked" for a mistyped ID.
	switch _, err := a.Sessions.Session(ctx, pos[0], time.Now()); {
	case errors.Is(err, signoff.ErrNotFound):
		return fmt.Errorf("no live session %s: it has ended, or never existed ('signoff sessions list --user EMAIL' lists the live ones)", pos[0])
	case err != nil:
		return err
	}
	if err := a.Manager.RevokeSession(signoff.WithAction(signoff.WithOperator(ctx, operator()), signoff.EventSessionEnded), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Stdout, "revoked session %s\n", pos[0])
	return nil
}

// operator names who runs an admin command, for the audit events: the OS
// user and the host, like alice@ops-1.
func operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return name
}
