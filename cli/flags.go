package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// flags is a FlagSet whose flags also read SIGNOFF_* variables.
type flags struct {
	*flag.FlagSet
	name, synopsis string
	out            io.Writer
}

func newFlags(name, synopsis string, stdio IO) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &flags{FlagSet: fs, name: name, out: stdio.Stdout, synopsis: synopsis}
	// The flag package calls Usage on every parse error: a mistyped flag
	// gets one line and a hint (parse), the whole usage only for -h.
	fs.Usage = func() {}
	return f
}

// usage prints the synopsis and every flag, for -h.
func (f *flags) usage() {
	fmt.Fprintf(f.out, "Usage: signoff %s\n\nFlags (each also read from SIGNOFF_<FLAG>):\n", f.synopsis)
	f.SetOutput(f.out)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// EnvName is the environment variable that sets a flag: --rate-limit is
// SIGNOFF_RATE_LIMIT.
func EnvName(flagName string) string {
	return "SIGNOFF_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse applies SIGNOFF_* variables, then the command line, which wins. It
// returns the positional arguments and checks there are exactly want of them
// (-1: any number).
func (f *flags) parse(args []string, env Env, want int, what string) ([]string, error) {
	var envErr error
	f.VisitAll(func(fl *flag.Flag) {
		if v := env(EnvName(fl.Name)); v != "" && envErr == nil {
			if err := f.Set(fl.Name, v); err != nil {
				envErr = usagef("%s=%q: %v", EnvName(fl.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	// Flags may come after the positional arguments too: users type
	// "signoff users add a@b --store sqlite:x".
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.usage()
				return nil, err
			}
			return nil, usagef("%s: %v (run 'signoff %s -h')", f.name, err, f.name)
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if want >= 0 && len(pos) != want {
		if want == 0 {
			return nil, usagef("%s takes no arguments, got %q", f.name, strings.Join(pos, " "))
		}
		return nil, usagef("%s needs %s", f.name, what)
	}
	return pos, nil
}

// modeValue is a flag.Value for --mode.
type modeValue struct{ m *signoff.Mode }

func (v modeValue) String() string {
	if v.m == nil {
		return "session"
	}
	return v.m.String()
}

func (v modeValue) Set(s string) error {
	m, ok := signoff.ParseMode(s)
	if !ok {
		return fmt.Errorf("want session or jwt, got %q", s)
	}
	*v.m = m
	return nil
}

// rateValue is a flag.Value for --rate-limit.
type rateValue struct {
	r   *server.Rate
	set *bool
}

func (v rateValue) String() string {
	if v.r == nil {
		return server.DefaultRate.String()
	}
	return v.r.String()
}

func (v rateValue) Set(s string) error {
	r, err := server.ParseRate(s)
	if err != nil {
		return err
	}
	*v.r, *v.set = r, true
	return nil
}

const (
	storeUsage    = "where users (and sessions, unless --sessions) live: sqlite:PATH or postgres://…"
	sessionsUsage = "keep sessions, refresh tokens and the revocation bus in this Redis: redis://…"
)

// storeFlag adds --store and --sessions to f.
func storeFlag(f *flags) *server.Stores {
	st := &server.Stores{}
	f.StringVar(&st.Store, "store", server.DefaultStore, storeUsage)
	f.StringVar(&st.Sessions, "sessions", "", sessionsUsage)
	return st
}

// durationValue is a flag.Value for a duration that says which unit to add
// when a number comes without one.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q has no unit: use %sm (minutes), %ss or %sh", s, s, s, s)
		}
		return fmt.Errorf("%q is not a duration: use 30m, 90s or 12h", s)
	}
	*v.d = d
	return nil
}

// duration defines a duration flag whose errors say which unit to add.
func (f *flags) duration(p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	f.Var(durationValue{p}, name, usage+" (a `duration`: 30m, 90s, 12h)")
}
