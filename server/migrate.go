package server

import (
	"context"
	"fmt"

	"github.com/signoff/signoff/store/pgstore"
	"github.com/signoff/signoff/store/sqlitestore"
)

// Migrate opens the stores, which applies every migration they lack, and
// says where each stands.
func Migrate(ctx context.Context, st Stores) (string, error) {
	b, err := OpenBackend(ctx, st, BackendOptions{})
	if err != nil {
		return "", err
	}
	defer b.Close()
	var v int
	switch s := b.Users.(type) {
	case *sqlitestore.Store:
		v, err = s.SchemaVersion(ctx)
	case *pgstore.Store:
		v, err = s.SchemaVersion(ctx)
	}
	if err != nil {
		return "", err
	}
	out := fmt.Sprintf("%s is at schema version %d", Redact(st.Store), v)
	if st.Sessions != "" {
		out += fmt.Sprintf("; %s needs no migrations", Redact(st.Sessions))
	}
	return out, nil
}
