package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
)

// NewBus returns a signoff.Bus between the processes that open this file
// (signoff serve and the admin commands of the CLI): the revocations table
// is the log, the instances table the cursors and heartbeats, polled every
// opt.Poll. See package logbus for the protocol.
func (s *Store) NewBus(opt logbus.Options) *logbus.Bus {
	return logbus.New(BusLog(s), opt)
}

// BusLog is the logbus.Log that NewBus uses.
func BusLog(s *Store) logbus.Log { return busLog{s} }

// busLog is the logbus.Log on the revocations and instances tables. Reads
// go through the reader pool, writes through the one writer.
type busLog struct{ s *Store }

// nowUS is the log's clock in SQL: the database's own time, in unix
// microseconds (every process that opens the file is on this host). It
// is one value throughout a statement.
const nowUS = `CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)`

func (l busLog) Append(ctx context.Context, origin string, r signoff.Revocation) (int64, error) {
	var seq int64
	err := l.s.w.QueryRowContext(ctx, `INSERT INTO revocations (origin, session_id, user_id, auth_version, until_at, pending, operator, keys_version, action)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`, origin, r.SessionID, r.UserID, r.AuthVersion, us(r.Until), r.Pending, r.Operator, r.Keys, r.Action).Scan(&seq)
	return seq, err
}

func (l busLog) After(ctx context.Context, after int64) ([]logbus.Entry, error) {
	st, err := l.s.prepared(ctx, false, `SELECT seq, origin, session_id, user_id, auth_version, until_at, pending, operator, keys_version, action
		FROM revocations WHERE seq > ? ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []logbus.Entry
	for rows.Next() {
		var (
			e     logbus.Entry
			until int64
		)
		if err := rows.Scan(&e.Seq, &e.Origin, &e.SessionID, &e.UserID, &e.AuthVersion, &until, &e.Pending, &e.Operator, &e.Keys, &e.Action); err != nil {
			return nil, err
		}
		e.Until = fromUS(until)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (l busLog) Register(ctx context.Context, instance string) (int64, error) {
	var cur int64
	err := l.s.w.QueryRowContext(ctx, `INSERT INTO instances (id, applied_seq, heartbeat_at)
		VALUES (?, (SELECT coalesce(max(seq), 0) FROM revocations), `+nowUS+`)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
		RETURNING applied_seq`, instance).Scan(&cur)
	return cur, err
}

func (l busLog) Heartbeat(ctx context.Context, instance string, cursor int64) error {
	st, err := l.s.prepared(ctx, true, `UPDATE instances SET applied_seq = ?, heartbeat_at = `+nowUS+` WHERE id = ?`)
	if err != nil {
		return err
	}
	res, err := st.ExecContext(ctx, cursor, instance)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: %s", logbus.ErrNotRegistered, instance)
	}
	return nil
}

func (l busLog) Behind(ctx context.Context, self string, seq int64, lease time.Duration) (int, error) {
	var n int
	err := l.s.r.QueryRowContext(ctx, `SELECT count(*) FROM instances
		WHERE id <> ? AND applied_seq < ? AND heartbeat_at > `+nowUS+` - ?`, self, seq, lease.Microseconds()).Scan(&n)
	return n, err
}

func (l busLog) Deregister(ctx context.Context, instance string) error {
	_, err := l.s.w.ExecContext(ctx, `DELETE FROM instances WHERE id = ?`, instance)
	return err
}

func (l busLog) Trim(ctx context.Context, until time.Time, silentFor time.Duration) error {
	_, err1 := l.s.w.ExecContext(ctx, `DELETE FROM revocations WHERE until_at < ?`, us(until))
	_, err2 := l.s.w.ExecContext(ctx, `DELETE FROM instances WHERE heartbeat_at < `+nowUS+` - ?`, silentFor.Microseconds())
	return errors.Join(err1, err2)
}

var _ logbus.Log = busLog{}
