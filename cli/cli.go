// Package cli is the signoff command line. Main takes its arguments,
// environment and standard streams as values, so tests call it directly.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Env is a process environment: os.Getenv, or a map in tests.
type Env func(string) string

// IO is where a command reads and writes. Stdin may be a terminal (*os.File),
// in which case passwords are read without echo.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Exit statuses.
const (
	ExitOK    = 0
	ExitError = 1 // the command ran and failed
	ExitUsage = 2 // the command line or the environment is wrong
	// ExitIncomplete ends a signoff check that stopped before every check
	// was reached and found no FAIL: not a pass.
	ExitIncomplete = 3
)

// usageError is a mistake on the command line; it exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const help = `signoff: sessions and tokens that actually end.

Usage:
  signoff serve [flags]                 run the auth server
  signoff users add EMAIL               add a user (password from a prompt or stdin)
  signoff users list                    list every user
  signoff users disable EMAIL           refuse a user's sign-in and end all their sessions
  signoff users enable EMAIL            let a disabled user sign in again
  signoff users delete EMAIL            end a user's sessions and delete the account
  signoff users set-password EMAIL      set a password (prompt or stdin) and end all sessions
  signoff users logout-all EMAIL        sign a user out everywhere
  signoff sessions list --user EMAIL    list a user's live sessions
  signoff sessions revoke ID            end one session
  signoff keys list                     jwt keys kept in the store (needs SIGNOFF_KEYS_SECRET)
  signoff keys rotate                   a new signing key on every running instance
  signoff keys revoke KID               end every token a key signed, everywhere
  signoff check URL                     audit a site's logout from outside (exit 1 on a FAIL)
  signoff migrate                       create or upgrade the database
  signoff version                       print the version

Every flag can also be set as SIGNOFF_<FLAG>, e.g. SIGNOFF_STORE=sqlite:/var/lib/signoff.db.
Run 'signoff COMMAND -h' for a command's flags.
`

// Main runs the command in args (without the program name) and returns the
// exit status. Errors are printed as one line on stderr, never a stack trace.
func Main(ctx context.Context, args []string, env Env, stdio IO) int {
	err := run(ctx, args, env, stdio)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintf(stdio.Stderr, "signoff: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitError
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func run(ctx context.Context, args []string, env Env, stdio IO) error {
	if len(args) == 0 {
		return usagef("no command given; run 'signoff help' for the list")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdio.Stdout, help)
		return nil
	case "serve":
		return serve(ctx, rest, env, stdio)
	case "migrate":
		return migrate(ctx, rest, env, stdio)
	case "check":
		return checkCmd(ctx, rest, env, stdio)
	case "version", "--version", "-version":
		fmt.Fprintf(stdio.Stdout, "signoff %s (%s)\n", Version(), goVersion())
		return nil
	case "users", "sessions", "keys":
		if len(rest) == 0 {
			return usagef("%s needs a subcommand; run 'signoff help'", cmd)
		}
		sub := cmd + " " + rest[0]
		switch sub {
		case "users add":
			return usersAdd(ctx, rest[1:], env, stdio)
		case "users logout-all":
			return usersLogoutAll(ctx, rest[1:], env, stdio)
		case "users list":
			return usersList(ctx, rest[1:], env, stdio)
		case "users disable":
			return usersDisable(ctx, rest[1:], env, stdio)
		case "users enable":
			return usersEnable(ctx, rest[1:], env, stdio)
		case "users delete":
			return usersDelete(ctx, rest[1:], env, stdio)
		case "users set-password":
			return usersSetPassword(ctx, rest[1:], env, stdio)
		case "sessions list":
			return sessionsList(ctx, rest[1:], env, stdio)
		case "sessions revoke":
			return sessionsRevoke(ctx, rest[1:], env, stdio)
		case "keys list":
			return keysList(ctx, rest[1:], env, stdio)
		case "keys rotate":
			return keysRotate(ctx, rest[1:], env, stdio)
		case "keys revoke":
			return keysRevoke(ctx, rest[1:], env, stdio)
		}
		return usagef("unknown command %q; run 'signoff help'", sub)
	}
	return usagef("unknown command %q; run 'signoff help'", cmd)
}

// Version is the module version this binary was built from.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "go"
}
