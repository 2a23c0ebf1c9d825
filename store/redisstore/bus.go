package redisstore

import (
	"context"
	"encoding/json"
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
	Pending     string `json:"p,omitempty"`
	Operator    string `json:"a,omitempty"`
	Keys        int64  `json:"k,omitempty"`
	Action      string `json:"x,omitempty"`
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
	b, err := json.Marshal(wireEntry{Origin: origin, SessionID: r.SessionID, UserID: r.UserID, AuthVersion: r.AuthVersion, Until: r.Until.UnixMicro(), Pending: r.Pending, Operator: r.Operator, Keys: r.Keys, Action: r.Action})
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
			SessionID: w.SessionID, UserID: w.UserID, AuthVersion: w.AuthVersion, Until: time.UnixMicro(w.Until).UTC(), Pending: w.Pending, Operator: w.Operator, Keys: w.Keys, Action: w.Action}})
	}
	return out, nil
}

// The log's clock is the Redis server's: every script that stamps or
// judges a heartbeat reads TIME itself (scripts are replicated by their
// effects, so this is allowed), and no host's clock enters.
const luaNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowstr = string.format('%.0f', now)
`

var registerScript = redis.NewScript(luaNow + `
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  cur = string.match(cur, '^(%d+)')
else
  cur = redis.call('GET', KEYS[1]) or '0'
end
redis.call('HSET', KEYS[2], ARGV[1], cur .. ' ' .. nowstr)
return tonumber(cur)`)

func (l *busLog) Register(ctx context.Context, instance string) (int64, error) {
	return registerScript.Run(ctx, l.c, []string{l.seq, l.inst}, instance).Int64()
}

var heartbeatScript = redis.NewScript(luaNow + `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. nowstr)
redis.call('PUBLISH', KEYS[2], 'ack')
return 1`)

func (l *busLog) Heartbeat(ctx context.Context, instance string, cursor int64) error {
	ok, err := heartbeatScript.Run(ctx, l.c, []string{l.inst, l.ch}, instance, cursor).Int()
	if err == nil && ok == 0 {
		err = fmt.Errorf("%w: %s", logbus.ErrNotRegistered, instance)
	}
	return err
}

// behindScript counts the instances other than ARGV[1] whose cursor is
// before ARGV[2] and whose heartbeat is younger than ARGV[3] µs.
var behindScript = redis.NewScript(luaNow + `
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  local c, b = string.match(all[i + 1], '^(%d+) (%d+)$')
  if all[i] ~= ARGV[1] and tonumber(c) < tonumber(ARGV[2]) and now - tonumber(b) < tonumber(ARGV[3]) then
    n = n + 1
  end
end
return n`)

func (l *busLog) Behind(ctx context.Context, self string, seq int64, lease time.Duration) (int, error) {
	return behindScript.Run(ctx, l.c, []string{l.inst}, self, seq, lease.Microseconds()).Int()
}

func (l *busLog) Deregister(ctx context.Context, instance string) error {
	err := l.c.HDel(ctx, l.inst, instance).Err()
	l.c.Publish(ctx, l.ch, "gone")
	return err
}

// trimScript drops the entries whose Until is before ARGV[1] (unix µs)
// and the instances silent for more than ARGV[2] µs.
var trimScript = redis.NewScript(luaNow + `
local seqs = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for _, s in ipairs(seqs) do
  redis.call('ZREMRANGEBYSCORE', KEYS[1], s, s)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local b = string.match(all[i + 1], ' (%d+)$')
  if now - tonumber(b) > tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[3], all[i])
  end
end
return #seqs`)

func (l *busLog) Trim(ctx context.Context, until time.Time, silentFor time.Duration) error {
	return trimScript.Run(ctx, l.c, []string{l.log, l.until, l.inst}, until.UnixMicro(), silentFor.Microseconds()).Err()
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
