package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
)

// NewBus returns a signoff.Bus between every instance that uses this Redis:
// the log is a sorted set, the cursors and heartbeats a hash, and pub/sub
// wakes readers and waiting publishers at once. Plain pub/sub forgets what
// a disconnected subscriber missed; the sorted set does not, so an instance
// that reconnects catches up before it trusts its memory again. All the
// bus's keys share the hash tag {bus}: every script runs in one slot.
//
//	PREFIX{bus}:seq    string  the last Seq handed out
//	PREFIX{bus}:log    zset    Seq → "Seq:entry as JSON"
//	PREFIX{bus}:until  zset    Until (unix µs) → Seq, to trim
//	PREFIX{bus}:inst   hash    instance ID → "cursor heartbeat-µs"
//	PREFIX{bus}        channel a message after every change
func (s *Store) NewBus(opt logbus.Options) *logbus.Bus {
	return logbus.New(BusLog(s), opt)
}

// BusLog is the logbus.Log that NewBus uses.
func BusLog(s *Store) logbus.Log {
	p := s.k.prefix + "{bus}"
	l := &busLog{c: s.c, seq: p + ":seq", log: p + ":log", until: p + ":until", inst: p + ":inst", ch: p}
	l.Waiters = logbus.NewWaiters(l.listen)
	return l
}

type busLog struct {
	c                         redis.UniversalClient
	seq, log, until, inst, ch string
	*logbus.Waiters
}

type wireEntry struct {
	Origin      string `json:"o"`
	SessionID   string `json:"s,omitempty"`
	UserID      string `json:"u,omitempty"`
	AuthVersion int64  `json:"v,omitempty"`
	Until       int64  `json:"t"`
}

// appendScript hands out the next Seq and stores the entry in one step, so
// entries become visible in Seq order.
var appendScript = redis.NewScript(`
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. ':' .. ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], seq)
redis.call('PUBLISH', KEYS[4], seq)
return seq`)

func (l *busLog) Append(ctx context.Context, origin string, r signoff.Revocation) (int64, error) {
	b, err := json.Marshal(wireEntry{Origin: origin, SessionID: r.SessionID, UserID: r.UserID, AuthVersion: r.AuthVersion, Until: r.Until.UnixMicro()})
	if err != nil {
		return 0, err
	}
	// The script stores "SEQ:JSON", so equal revocations stay two entries.
	return appendScript.Run(ctx, l.c, []string{l.seq, l.log, l.until, l.ch}, string(b), r.Until.UnixMicro()).Int64()
}

func (l *busLog) After(ctx context.Context, after int64) ([]logbus.Entry, error) {
	zs, err := l.c.ZRangeByScoreWithScores(ctx, l.log, &redis.ZRangeBy{Min: "(" + strconv.FormatInt(after, 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, err
	}
	out := make([]logbus.Entry, 0, len(zs))
	for _, z := range zs {
		var w wireEntry
		_, js, _ := strings.Cut(z.Member.(string), ":")
		if err := json.Unmarshal([]byte(js), &w); err != nil {
			return nil, err
		}
		out = append(out, logbus.Entry{Seq: int64(z.Score), Origin: w.Origin, Revocation: signoff.Revocation{
			SessionID: w.SessionID, UserID: w.UserID, AuthVersion: w.AuthVersion, Until: time.UnixMicro(w.Until).UTC()}})
	}
	return out, nil
}

var registerScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  cur = string.match(cur, '^(%d+)')
else
  cur = redis.call('GET', KEYS[1]) or '0'
end
redis.call('HSET', KEYS[2], ARGV[1], cur .. ' ' .. ARGV[2])
return tonumber(cur)`)

func (l *busLog) Register(ctx context.Context, instance string, at time.Time) (int64, error) {
	return registerScript.Run(ctx, l.c, []string{l.seq, l.inst}, instance, at.UnixMicro()).Int64()
}

var heartbeatScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
redis.call('PUBLISH', KEYS[2], 'ack')
return 1`)

func (l *busLog) Heartbeat(ctx context.Context, instance string, cursor int64, at time.Time) error {
	ok, err := heartbeatScript.Run(ctx, l.c, []string{l.inst, l.ch}, instance, cursor, at.UnixMicro()).Int()
	if err == nil && ok == 0 {
		err = fmt.Errorf("%w: %s", logbus.ErrNotRegistered, instance)
	}
	return err
}

func parseInst(v string) (cursor, beat int64) {
	c, b, _ := strings.Cut(v, " ")
	cursor, _ = strconv.ParseInt(c, 10, 64)
	beat, _ = strconv.ParseInt(b, 10, 64)
	return cursor, beat
}

func (l *busLog) Behind(ctx context.Context, self string, seq int64, liveSince time.Time) (int, error) {
	all, err := l.c.HGetAll(ctx, l.inst).Result()
	if err != nil {
		return 0, err
	}
	n, since := 0, liveSince.UnixMicro()
	for id, v := range all {
		if c, b := parseInst(v); id != self && c < seq && b > since {
			n++
		}
	}
	return n, nil
}

func (l *busLog) Deregister(ctx context.Context, instance string) error {
	err := l.c.HDel(ctx, l.inst, instance).Err()
	l.c.Publish(ctx, l.ch, "gone")
	return err
}

var trimScript = redis.NewScript(`
local seqs = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for _, s in ipairs(seqs) do
  redis.call('ZREMRANGEBYSCORE', KEYS[1], s, s)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
return #seqs`)

func (l *busLog) Trim(ctx context.Context, until, silentSince time.Time) error {
	err := trimScript.Run(ctx, l.c, []string{l.log, l.until}, until.UnixMicro()).Err()
	all, err2 := l.c.HGetAll(ctx, l.inst).Result()
	for id, v := range all {
		if _, b := parseInst(v); b < silentSince.UnixMicro() {
			l.c.HDel(ctx, l.inst, id)
		}
	}
	return errors.Join(err, err2)
}

// listen holds one pub/sub subscription (go-redis reconnects and
// resubscribes by itself) until ctx ends.
func (l *busLog) listen(ctx context.Context, poke func()) {
	ps := l.c.Subscribe(ctx, l.ch)
	defer ps.Close()
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-msgs:
			if !ok {
				return
			}
			poke()
		}
	}
}

var (
	_ logbus.Log   = (*busLog)(nil)
	_ logbus.Waker = (*busLog)(nil)
)
