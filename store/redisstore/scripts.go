package redisstore

import "github.com/redis/go-redis/v9"

// The scripts below are the store's atomic steps. Each one runs in one
// user's slot: KEYS[1] is a key of that slot (cluster clients route on it),
// and every other key a script touches, declared or built from a prefix
// passed in ARGV, carries the same hash tag. Redis runs a script alone, so
// each is atomic, also on a cluster.
//
// Times are unix microseconds, passed in by the caller; a script never reads
// Redis's clock. Absent fields mean "not yet": revoked, next (the successor
// of a spent token), rt (a session's unspent refresh token).
//
// A script never writes a key it has not checked exists (or just created with
// a TTL), so no write can leave a key behind without a TTL, except av.

// createScript stores a session and, optionally, its first refresh token.
// Unless it is stored revoked, the session enters the user's live index,
// scored by its ExpiresAt, which first drops the entries of sessions that
// expired before pruneBefore: they can no longer count, and without it the
// index of a user who never signs out everywhere would only grow.
//
// The session also enters the user's sessions zset (by CreatedAt), which
// lists the user's devices; its members outlive the sessions Redis has
// collected. Each creation checks the next pruneBatch members from the
// user's prune cursor (a rank, which restarts at 0 past the end) and drops
// the collected ones: a sign-in costs the same whatever the user's sessions,
// and every member is checked within a pass of about n/pruneBatch sign-ins,
// also those behind a session that stays live (listScript drops them too).
//
// KEYS: 1 session, 2 the user's sessions zset, 3 the user's av, 4 the user's
// live index, 5 the user's prune cursor, [6 refresh token].
// ARGV: 1 ttl ms, 2 session key prefix, 3 session ID, 4 created µs,
// 5 expires µs, 6 "1" to enter the live index, 7 pruneBefore µs,
// 8 pruneBatch, 9 n, then n session field/value arguments, then the token's
// field/values.
// It returns the user's auth_version, or -1 if a record already exists.
var createScript = redis.NewScript(`
local ttl = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if KEYS[6] and redis.call('EXISTS', KEYS[6]) == 1 then return -1 end
local av = redis.call('GET', KEYS[3]) or '0'
local n = tonumber(ARGV[9])
local f = {'av', av}
for i = 10, 9 + n do f[#f + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(f))
redis.call('PEXPIRE', KEYS[1], ttl)
local batch = tonumber(ARGV[8])
local at = tonumber(redis.call('GET', KEYS[5]) or '0')
local ids = redis.call('ZRANGE', KEYS[2], at, at + batch - 1)
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then redis.call('ZREM', KEYS[2], id) else at = at + 1 end
end
if #ids < batch then at = 0 end
redis.call('SET', KEYS[5], at, 'PX', ttl)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ttl) then redis.call('PEXPIRE', KEYS[2], ttl) end
if ARGV[6] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
  if redis.call('PTTL', KEYS[4]) < tonumber(ttl) then redis.call('PEXPIRE', KEYS[4], ttl) end
end
if KEYS[6] then
  local g = {}
  for i = 10 + n, #ARGV do g[#g + 1] = ARGV[i] end
  redis.call('HSET', KEYS[6], unpack(g))
  redis.call('PEXPIRE', KEYS[6], ttl)
end
return tonumber(av)
`)

// listScript returns the user's sessions live at now, newest first, each as
// HGETALL gives it, and drops the IDs of sessions Redis has collected. A
// session whose av is below the user's was ended by a logout everywhere.
//
// KEYS: 1 the user's sessions zset, 2 the user's av.
// ARGV: 1 now µs, 2 session key prefix.
var listScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local av = tonumber(redis.call('GET', KEYS[2]) or '0')
local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[2] .. id
  local s = redis.call('HMGET', k, 'revoked', 'expires', 'av')
  if not s[2] then
    redis.call('ZREM', KEYS[1], id)
  elseif not s[1] and now < tonumber(s[2]) and tonumber(s[3] or '0') >= av then
    out[#out + 1] = redis.call('HGETALL', k)
  end
end
return out
`)

// touchScript sets a session's seen time to at unless it is later already,
// or the session is missing or revoked. It does not read the user's
// auth_version: a session a logout everywhere ended may be touched, which is
// harmless (signoff.Store allows it), since every read still finds it ended.
//
// KEYS: 1 session. ARGV: 1 at µs.
var touchScript = redis.NewScript(`
local s = redis.call('HMGET', KEYS[1], 'seen', 'revoked')
if s[1] and not s[2] and tonumber(ARGV[1]) > tonumber(s[1]) then
  redis.call('HSET', KEYS[1], 'seen', ARGV[1])
end
return 0
`)

// revokeScript revokes one session and its family, and takes the session out
// of the user's live index. A family is a chain: each rotation spends the one
// unspent token and adds its child, so every other token is already spent
// (revoked, with a successor), and the session's rt field names the only one
// left to revoke. That makes revocation O(1) whatever the length of the
// family. It does not read the user's auth_version: revoking a session a
// logout everywhere ended writes its revoked field, which changes nothing
// any read answers.
//
// KEYS: 1 session, 2 the user's live index. ARGV: 1 at µs, 2 refresh token
// key prefix.
var revokeScript = redis.NewScript(`
local s = redis.call('HMGET', KEYS[1], 'id', 'revoked', 'rt')
if not s[1] or s[2] then return 0 end
redis.call('HSET', KEYS[1], 'revoked', ARGV[1])
redis.call('ZREM', KEYS[2], s[1])
if s[3] then
  local t = ARGV[2] .. s[3]
  if redis.call('EXISTS', t) == 1 and not redis.call('HGET', t, 'revoked') then
    redis.call('HSET', t, 'revoked', ARGV[1])
  end
end
return 1
`)

// revokeUserScript is logout everywhere. It increments the user's
// auth_version, which has no TTL (see the package documentation), and so
// ends every session the user has, since each carries the auth_version it
// began under. It reads and writes no session: it counts the sessions live
// at at from the live index (ZCOUNT, O(log n)), and drops the index, whose
// sessions are all over (UNLINK: Redis frees a large one in the background).
//
// KEYS: 1 the user's live index, 2 the user's av. ARGV: 1 at µs.
// It returns {revoked, auth_version}.
var revokeUserScript = redis.NewScript(`
local n = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
redis.call('UNLINK', KEYS[1])
return {n, redis.call('INCR', KEYS[2])}
`)

// Outcomes of rotateScript.
const (
	rotNotFound  = 0 // {0}
	rotRotated   = 1 // {1, session, child}
	rotRetry     = 2 // {2, session, stored successor}
	rotReuse     = 3 // {3, user ID}
	rotDuplicate = 4 // {4}
)

// rotateScript is RotateRefreshToken, the rules of signoff.Store in order.
//
// KEYS: 1 parent token, 2 session, 3 child token, 4 the user's av.
// ARGV: 1 now (child.IssuedAt) µs, 2 grace µs, 3 child JTI, 4 child hash hex,
// 5 child ExpiresAt µs, 6 ttl ms, 7 session ID, 8 refresh token key prefix.
var rotateScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local p = redis.call('HMGET', KEYS[1], 'sid', 'revoked', 'next', 'nexthash', 'expires')
if not p[1] or p[1] ~= ARGV[7] then return {0} end
local s = redis.call('HMGET', KEYS[2], 'user', 'expires', 'revoked', 'seen', 'av')
if not s[1] or s[3] or now >= tonumber(s[2]) then return {0} end
-- Ended by a logout everywhere: not live either.
if tonumber(s[5] or '0') < tonumber(redis.call('GET', KEYS[4]) or '0') then return {0} end
if p[2] or p[3] then
  -- Spent (or revoked). A grace retry gets the successor as first stored.
  if p[3] == ARGV[3] and p[2] and p[4] and now <= tonumber(p[2]) + tonumber(ARGV[2]) then
    local ck = ARGV[8] .. p[4]
    local c = redis.call('HMGET', ck, 'jti', 'revoked', 'next')
    if c[1] and not c[2] and not c[3] then
      return {2, redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', ck)}
    end
  end
  return {3, s[1]}
end
if now >= tonumber(p[5]) then return {0} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {4} end
local cexp = ARGV[5]
if tonumber(cexp) > tonumber(s[2]) then cexp = s[2] end
redis.call('HSET', KEYS[1], 'revoked', ARGV[1], 'next', ARGV[3], 'nexthash', ARGV[4])
redis.call('HSET', KEYS[3], 'jti', ARGV[3], 'sid', ARGV[7], 'hash', ARGV[4],
  'issued', ARGV[1], 'expires', cexp)
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('HSET', KEYS[2], 'rt', ARGV[4])
if now > tonumber(s[4]) then redis.call('HSET', KEYS[2], 'seen', ARGV[1]) end
return {1, redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
`)
