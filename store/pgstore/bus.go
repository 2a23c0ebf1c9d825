package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
)

// busChannel is the NOTIFY channel that wakes the instances' readers and
// the publishers waiting for them. A wake-up only saves latency: readers
// also poll, so a lost notification delays nothing beyond one Poll.
const busChannel = "signoff_bus"

// busLock is the advisory lock that orders appends: bigserial values are
// handed out before commit, so without it seq 10 could become visible after
// seq 11 and a reader past 11 would never see 10.
const busLock = 0x5169_6e6f_6666 // "signoff", roughly

// NewBus returns a signoff.Bus between every process that uses this
// database: the revocations table is the log, the instances table the
// cursors and heartbeats, and LISTEN/NOTIFY wakes readers at once. See
// package logbus for the protocol. Close the Bus before the Store.
func (s *Store) NewBus(opt logbus.Options) *logbus.Bus {
	return logbus.New(BusLog(s), opt)
}

// BusLog is the logbus.Log that NewBus uses.
func BusLog(s *Store) logbus.Log {
	l := &busLog{s: s}
	l.Waiters = logbus.NewWaiters(l.listen)
	return l
}

type busLog struct {
	s *Store
	*logbus.Waiters
}

func (l *busLog) Append(ctx context.Context, origin string, r signoff.Revocation) (int64, error) {
	var seq int64
	err := pgx.BeginFunc(ctx, l.s.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(busLock)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO revocations (origin, session_id, user_id, auth_version, until_at, pending, operator, keys_version, action)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq, pg_notify($10, '')`,
			origin, r.SessionID, r.UserID, r.AuthVersion, r.Until.UTC(), r.Pending, r.Operator, r.Keys, r.Action, busChannel).Scan(&seq, nil)
	})
	return seq, err
}

func (l *busLog) After(ctx context.Context, after int64) ([]logbus.Entry, error) {
	rows, err := l.s.Pool().Query(ctx, `SELECT seq, origin, session_id, user_id, auth_version, until_at, pending, operator, keys_version, action
		FROM revocations WHERE seq > $1 ORDER BY seq`, after)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (logbus.Entry, error) {
		var e logbus.Entry
		err := row.Scan(&e.Seq, &e.Origin, &e.SessionID, &e.UserID, &e.AuthVersion, &e.Until, &e.Pending, &e.Operator, &e.Keys, &e.Action)
		e.Until = e.Until.UTC()
		return e, err
	})
}

// The log's clock is the database's: heartbeats are stamped with now()
// and judged against now(), never against a host's clock.

func (l *busLog) Register(ctx context.Context, instance string) (int64, error) {
	var cur int64
	err := l.s.Pool().QueryRow(ctx, `INSERT INTO instances (id, applied_seq, heartbeat_at)
		VALUES ($1, (SELECT coalesce(max(seq), 0) FROM revocations), now())
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
		RETURNING applied_seq`, instance).Scan(&cur)
	return cur, err
}

func (l *busLog) Heartbeat(ctx context.Context, instance string, cursor int64) error {
	var id string
	err := l.s.Pool().QueryRow(ctx, `WITH u AS (
			UPDATE instances SET applied_seq = $2, heartbeat_at = now() WHERE id = $1 RETURNING id)
		SELECT id, pg_notify($3, '') FROM u`, instance, cursor, busChannel).Scan(&id, nil)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", logbus.ErrNotRegistered, instance)
	}
	return err
}

func (l *busLog) Behind(ctx context.Context, self string, seq int64, lease time.Duration) (int, error) {
	var n int
	err := l.s.Pool().QueryRow(ctx, `SELECT count(*) FROM instances
		WHERE id <> $1 AND applied_seq < $2 AND heartbeat_at > now() - $3 * interval '1 microsecond'`,
		self, seq, lease.Microseconds()).Scan(&n)
	return n, err
}

func (l *busLog) Deregister(ctx context.Context, instance string) error {
	_, err := l.s.Pool().Exec(ctx, `WITH d AS (DELETE FROM instances WHERE id = $1 RETURNING id)
		SELECT pg_notify($2, '') FROM d`, instance, busChannel)
	return err
}

func (l *busLog) Trim(ctx context.Context, until time.Time, silentFor time.Duration) error {
	_, err1 := l.s.Pool().Exec(ctx, `DELETE FROM revocations WHERE until_at < $1`, until.UTC())
	_, err2 := l.s.Pool().Exec(ctx, `DELETE FROM instances WHERE heartbeat_at < now() - $1 * interval '1 microsecond'`, silentFor.Microseconds())
	return errors.Join(err1, err2)
}

// listen keeps one LISTEN connection, reconnecting after a failure, until
// ctx ends.
func (l *busLog) listen(ctx context.Context, poke func()) {
	for ctx.Err() == nil {
		if err := l.listenOnce(ctx, poke); err != nil && ctx.Err() == nil {
			select { // readers poll meanwhile; retry soon
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func (l *busLog) listenOnce(ctx context.Context, poke func()) error {
	conn, err := l.s.Pool().Acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// A LISTENing connection must not go back to the pool.
		conn.Conn().Close(context.Background())
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+busChannel); err != nil {
		return err
	}
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		poke()
	}
}

var (
	_ logbus.Log   = (*busLog)(nil)
	_ logbus.Waker = (*busLog)(nil)
)
