package check

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// passwordPlaceholder in a RegisterFields value stands for the password,
// for a form that asks for it twice.
const passwordPlaceholder = "{password}"

// register creates the account before the first sign-in when
// Config.Register is set: a POST of the user, the password and
// Config.RegisterFields, as a form opened first or as JSON. An account
// that exists already is fine: the sign-in that follows decides.
func (r *runner) register(ctx context.Context) error {
	cfg := r.cfg
	if cfg.Register == "" {
		return nil
	}
	fields := loginFields(Config{UserField: cfg.UserField, User: cfg.User, PasswordField: cfg.PasswordField, Password: cfg.Password})
	note := loginNote(cfg)
	for key, v := range cfg.RegisterFields {
		if strings.Contains(v, passwordPlaceholder) {
			fields[key] = strings.ReplaceAll(v, passwordPlaceholder, cfg.Password.Reveal())
			note = append(note, key+" (hidden)")
			continue
		}
		fields[key] = v
		note = append(note, key+" (given)") // an invite code, a password typed out: never shown
	}
	k := call{step: "register the account", method: http.MethodPost, path: cfg.Register, story: true, site: true, bodyNote: note}
	if cfg.LoginFormat == "form" {
		r.c.do(ctx, call{step: "open the registration page", method: http.MethodGet, path: cfg.Register, story: true})
	}
	r.fillForm(&k, fields)
	res := r.c.do(ctx, k)
	switch {
	case res.err != nil:
		return fmt.Errorf("register: POST %s: %s", cfg.Register, res.hidePassword(cleanErr(res.err)))
	case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
		return fmt.Errorf("%w: register: POST %s answered %d; set --register to the site's sign-up path", ErrUsage, cfg.Register, res.status)
	case res.done():
		r.c.note(res.seq, "account "+cfg.User+" created")
	default:
		r.c.note(res.seq, "not created ("+res.describe()+suffix(res.problem())+"): perhaps it exists; sign in with it")
	}
	return nil
}
