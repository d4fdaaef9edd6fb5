/**
 * The Lua scripts: every operation that touches more than one key is ONE script, so it is
 * atomic on the server and costs one round trip (`createSequential` included). Key layout in
 * `layout.ts`. Each script gets `KEYS[1]` = the namespace counter (a cluster client routes by
 * it; every other key shares its hash tag, so its slot) and `ARGV[1]` = the key base.
 *
 * Ephemeral nodes: a node whose owner's session key is gone is dead. Every script prunes the
 * dead nodes it reads (deleting them and publishing their deletion) before it looks at them,
 * so a crashed holder's lock passes on as soon as anyone reads the lock's directory — which
 * every waiter's bounded re-check does. No script compares times: a session's life is its
 * key's TTL, which the server alone enforces.
 *
 * Errors a caller can act on are replies `COORD <CODE> <message>` (see `errors.ts`).
 */
import { createHash } from 'node:crypto';

/** Helpers shared by every script (Lua 5.1 inside Redis). */
const PRELUDE = `
local base = ARGV[1]
local revkey = KEYS[1]
local deskey = base .. 'desc'
local function nkey(p) return base .. 'n:' .. p end
local function ckey(d) return base .. 'c:' .. d end
local function skey(s) return base .. 's:' .. s end
local function ekey(s) return base .. 'e:' .. s end
local function chan(p) return base .. 'w:' .. p end
local function fail(code, msg) return redis.error_reply('COORD ' .. code .. ' ' .. msg) end
local function parent(p)
  local i = string.find(p, '/[^/]*$')
  if i == nil or i <= 1 then return '/' end
  return string.sub(p, 1, i - 1)
end
local function basename(p) return string.match(p, '[^/]*$') end
local function join(d, name) if d == '/' then return '/' .. name end return d .. '/' .. name end
local rev = nil
local function bump()
  if rev == nil then rev = redis.call('INCR', revkey) end
  return rev
end
local function current() return rev or tonumber(redis.call('GET', revkey) or '0') end
local function publish(p, kind) redis.call('PUBLISH', chan(p), bump() .. ' ' .. kind) end
local function lkey(s) return base .. 'l:' .. s end
local clock = nil
-- The server's clock, in ms: the only clock any script compares with.
local function now()
  if clock == nil then
    local t = redis.call('TIME')
    clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return clock
end
local alive_cache = {}
-- Whether a node's owner may still hold it. Its session key gone is not enough: if the key
-- was deleted before its lease ran out (an admin, a test, a flush of one key), the owner may
-- not know yet, so its nodes stay until the lease it was granted has run out (server time)
-- or the owner ends the session itself. A key that lapsed has no lease left: dead at once.
local function alive(owner)
  if not owner then return true end
  local a = alive_cache[owner]
  if a == nil then
    a = redis.call('EXISTS', skey(owner)) == 1
    if not a then
      local lease = redis.call('GET', lkey(owner))
      a = lease and now() < tonumber(lease) or false
    end
    alive_cache[owner] = a
  end
  return a
end
local function below(p) return tonumber(redis.call('HGET', deskey, p) or '0') end
local function count(p, delta)
  local a = p
  repeat
    a = parent(a)
    if redis.call('HINCRBY', deskey, a, delta) <= 0 then redis.call('HDEL', deskey, a) end
  until a == '/'
end
local function remove(p, owner)
  local d = parent(p)
  redis.call('DEL', nkey(p))
  redis.call('ZREM', ckey(d), basename(p))
  count(p, -1)
  if owner then redis.call('SREM', ekey(owner), p) end
  publish(p, 'n')
  publish(d, 'c')
end
-- The node's {version, seq, token, owner}, or nil; a dead ephemeral node is removed first.
local function live(p)
  local f = redis.call('HMGET', nkey(p), 'v', 's', 't', 'o')
  if not f[1] then return nil end
  if f[4] and not alive(f[4]) then
    remove(p, f[4])
    return nil
  end
  return f
end
-- The live children of d as a flat list {name, seq, token, owner or '', ...}, in zset order.
local function list(d)
  local out = {}
  for _, name in ipairs(redis.call('ZRANGE', ckey(d), 0, -1)) do
    local f = live(join(d, name))
    if f then
      out[#out + 1] = name
      out[#out + 1] = f[2]
      out[#out + 1] = f[3]
      out[#out + 1] = f[4] or ''
    end
  end
  return out
end
`;

/**
 * create: ARGV[2] mode ('p' plain | 's' sequential), [3] path (plain) or directory
 * (sequential), [4] name prefix, [5] data, [6] owner session or '', [7] requireParent '1'/'0',
 * [8] TTL of the owner's ephemeral index (ms), [9] adopt '1'/'0': this is a repeat of a create
 * whose reply was lost, so return the node it made if it exists instead of making another.
 * Returns {path, seq, token, owner, rev, adopted, listing...}.
 */
const CREATE = `
local mode, target, prefix, data, owner = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local required, idxttl, adopt = ARGV[7] == '1', ARGV[8], ARGV[9] == '1'
if owner == '' then owner = false end
if owner and redis.call('EXISTS', skey(owner)) == 0 then return fail('SESSION_EXPIRED', 'session ' .. owner .. ' has expired') end
if owner then alive_cache[owner] = true end
local dir = target
if mode == 'p' then dir = parent(target) end
if dir ~= '/' then
  local up = live(dir)
  if up == nil and required then return fail('NO_NODE', 'parent ' .. dir .. ' does not exist') end
  if up and up[4] then return fail('INVALID_ARGUMENT', dir .. ' is ephemeral and cannot have children') end
end
local path, seq, score
if mode == 'p' then
  path = target
  local f = live(path)
  if f then
    if adopt and f[1] == '0' and (f[4] or false) == owner and redis.call('HGET', nkey(path), 'd') == data then
      return {path, f[2], f[3], f[4] or '', current(), 1}
    end
    return fail('NODE_EXISTS', path .. ' exists')
  end
  if owner and below(path) > 0 then return fail('INVALID_ARGUMENT', path .. ' has children, so it cannot be ephemeral') end
elseif adopt then
  -- Only a repeat looks for the node its first attempt made; the listing after the insert
  -- below prunes the dead siblings anyway.
  local kids = list(dir)
  for i = 1, #kids, 4 do
    local name = kids[i]
    if string.sub(name, 1, #prefix) == prefix and string.match(string.sub(name, #prefix + 1), '^%d%d%d%d%d%d%d%d%d%d+$') then
      local reply = {join(dir, name), kids[i + 1], kids[i + 2], kids[i + 3], current(), 1}
      for _, v in ipairs(kids) do reply[#reply + 1] = v end
      return reply
    end
  end
end
local token = bump()
if mode == 'p' then
  seq, score = 0, '+inf'
else
  seq, score = token, token
  path = join(dir, prefix .. string.format('%010d', token))
  if redis.call('EXISTS', nkey(path)) == 1 then return fail('NODE_EXISTS', path .. ' exists') end
end
if owner then
  redis.call('HSET', nkey(path), 'd', data, 'v', 0, 's', seq, 't', token, 'o', owner)
  -- The index gets a TTL when it is made; heartbeats keep it past the session's life.
  if redis.call('SADD', ekey(owner), path) == 1 and redis.call('PTTL', ekey(owner)) == -1 then
    redis.call('PEXPIRE', ekey(owner), idxttl)
  end
else
  redis.call('HSET', nkey(path), 'd', data, 'v', 0, 's', seq, 't', token)
end
redis.call('ZADD', ckey(dir), score, basename(path))
count(path, 1)
publish(path, 'n')
publish(dir, 'c')
local reply = {path, seq, token, owner or '', token, 0}
if mode == 's' then
  for _, v in ipairs(list(dir)) do reply[#reply + 1] = v end
end
return reply
`;

/** get: ARGV[2] path. Returns {rev} if absent, else {rev, data, version, owner or '', token}. */
const GET = `
local path = ARGV[2]
local f = live(path)
if not f then return {current()} end
return {current(), redis.call('HGET', nkey(path), 'd'), f[1], f[4] or '', f[3]}
`;

/** children: ARGV[2] directory. Returns {rev, name, seq, token, owner, ...}. */
const CHILDREN = `
local kids = list(ARGV[2])
local reply = {current()}
for _, v in ipairs(kids) do reply[#reply + 1] = v end
return reply
`;

/**
 * set: ARGV[2] path, [3] data, [4] expected version or '', [5] token or '', [6] request id.
 * A repeat of a set whose reply was lost (same request id, already applied) returns the
 * version it made instead of applying twice. Returns the new version.
 */
const SET = `
local path, data, version, token, request = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local f = live(path)
if not f then return fail('NO_NODE', path .. ' does not exist') end
if token ~= '' and f[3] ~= token then return fail('NO_NODE', path .. ' is not the node of token ' .. token .. ' (it was re-created)') end
if redis.call('HGET', nkey(path), 'r') == request then return tonumber(f[1]) end
if version ~= '' and f[1] ~= version then return fail('BAD_VERSION', path .. ' is at version ' .. f[1] .. ', not ' .. version) end
redis.call('HSET', nkey(path), 'd', data, 'r', request)
local v = redis.call('HINCRBY', nkey(path), 'v', 1)
publish(path, 'n')
return v
`;

/**
 * delete: ARGV[2] path, [3] expected version or '', [4] token or '', [5] request id, [6] how
 * long (ms) to remember it. A token-guarded delete leaves a short-lived receipt
 * `{P}:r:<token>` = request id, so its repeat after a lost reply says true (it did delete)
 * while any other later delete of that token says false. Returns 1 if deleted, else 0.
 */
const DELETE = `
local path, version, token, request, keep = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local f = live(path)
local receipt = base .. 'r:' .. token
if (not f or f[3] ~= token) and token ~= '' then
  if redis.call('GET', receipt) == request then return 1 end
  return 0
end
if not f then return 0 end
if version ~= '' and f[1] ~= version then return fail('BAD_VERSION', path .. ' is at version ' .. f[1] .. ', not ' .. version) end
if below(path) > 0 then return fail('NOT_EMPTY', path .. ' has children') end
remove(path, f[4])
if token ~= '' then redis.call('SET', receipt, request, 'PX', keep) end
return 1
`;

/** end: ARGV[2] session id. Deletes the session key and every ephemeral node it owns. */
const END = `
local sid = ARGV[2]
redis.call('DEL', skey(sid), lkey(sid))
local paths = redis.call('SMEMBERS', ekey(sid))
local n = 0
for _, p in ipairs(paths) do
  if redis.call('HGET', nkey(p), 'o') == sid then
    remove(p, sid)
    n = n + 1
  end
end
redis.call('DEL', ekey(sid))
return n
`;

/**
 * lease: ARGV[2] session id, [3] TTL (ms). Records until when (server time) the session was
 * granted, right after the session key's `SET`/`PEXPIRE` in the same write: the bound before
 * which a deleted key does not make the session's nodes dead (see `alive`). Returns 0 without
 * writing if the session key is gone. Touches no session key, so client-side tracking does
 * not report our own renewal to us (its NOLOOP does not cover a script's writes).
 */
const LEASE = `
local sid, ttl = ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', skey(sid)) == 0 then return 0 end
redis.call('SET', lkey(sid), now() + ttl, 'PX', ttl * 2)
return 1
`;

/** A script: its source and SHA1 (for `EVALSHA`). */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, body: string): Script {
  const source = `${PRELUDE}\n${body}`;
  return Object.freeze({ name, source, sha: createHash('sha1').update(source).digest('hex') });
}

/** Every script the driver runs. */
export const SCRIPTS = Object.freeze({
  create: script('create', CREATE),
  get: script('get', GET),
  children: script('children', CHILDREN),
  set: script('set', SET),
  delete: script('delete', DELETE),
  end: script('end', END),
  lease: script('lease', LEASE),
});
