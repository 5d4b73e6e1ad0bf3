// The Redis side of the cluster: Lua scripts, so that every check-and-take is atomic across
// members (two members admitting the last seat of a room at once cannot both win).
//
// Keys (all under `tabmesh:`; the scripts name them themselves, so they need one Redis, not a
// Redis Cluster — see docs/deployment.md):
//   room:<key>      hash  node id → member holding its socket (the room's members, cluster-wide)
//   ids             hash  node id → member (one node, one connection, cluster-wide)
//   nodes:<member>  hash  node id → "<room key>\t<client address>" (what a member holds, to reap it)
//   q               hash  "<address>\n<quota key>" → units held cluster-wide
//   q:<member>      hash  the same, held through that member (given back when it dies)
//   opener          hash  room key → "<address>\t<member>" (whose `rooms` unit a room holds)
//   member:<member> string JSON heartbeat with a TTL: the member is alive while it exists
//   members         set   members that registered (the sweep finds dead ones here)
// Channels: tabmesh:events (joins and leaves, every member), tabmesh:to:<member> (signals).
export const keyPrefix = 'tabmesh:';
export const eventsChannel = `${keyPrefix}events`;
export const memberChannel = (member: string): string => `${keyPrefix}to:${member}`;
export const memberKey = (member: string): string => `${keyPrefix}member:${member}`;
export const membersKey = `${keyPrefix}members`;

const common = `
local P = '${keyPrefix}'
local function qadd(member, field, n)
  local total = redis.call('HINCRBY', P..'q', field, n)
  if total <= 0 then redis.call('HDEL', P..'q', field) end
  local mine = redis.call('HINCRBY', P..'q:'..member, field, n)
  if mine <= 0 then redis.call('HDEL', P..'q:'..member, field) end
end
local function qheld(field) return tonumber(redis.call('HGET', P..'q', field) or '0') end
local function split(v)
  local tab = string.find(v, '\\t', 1, true)
  return string.sub(v, 1, tab - 1), string.sub(v, tab + 1)
end
-- A room that emptied gives its opener's 'rooms' unit back (unless the opener was reaped: its units are gone already).
local function releaseOpener(key)
  local o = redis.call('HGET', P..'opener', key)
  if not o then return end
  redis.call('HDEL', P..'opener', key)
  local addr, m = split(o)
  if redis.call('SISMEMBER', P..'members', m) == 1 then qadd(m, addr..'\\nrooms', -1) end
end
-- Everything a member holds, removed; its quota units given back. Returns {{key, id}, …}.
local function clearMember(member)
  local q = redis.call('HGETALL', P..'q:'..member)
  for i = 1, #q, 2 do
    local total = redis.call('HINCRBY', P..'q', q[i], -tonumber(q[i + 1]))
    if total <= 0 then redis.call('HDEL', P..'q', q[i]) end
  end
  redis.call('DEL', P..'q:'..member)
  local nodes = redis.call('HGETALL', P..'nodes:'..member)
  local removed = {}
  for i = 1, #nodes, 2 do
    local id = nodes[i]
    local key = split(nodes[i + 1])
    if redis.call('HGET', P..'room:'..key, id) == member then
      redis.call('HDEL', P..'room:'..key, id)
      removed[#removed + 1] = {key, id}
      if redis.call('EXISTS', P..'room:'..key) == 0 then releaseOpener(key) end
    end
    if redis.call('HGET', P..'ids', id) == member then redis.call('HDEL', P..'ids', id) end
  end
  redis.call('DEL', P..'nodes:'..member)
  return removed
end
`;

/**
 * ARGV: member, room key, node id, address, maxNodesPerRoom, seat cap, rooms cap, sample size,
 * and the heartbeat TTL left (ms) below which a member is presumed dead (it missed two beats).
 *
 * An id held through a member presumed dead is taken over: the join is signed with the node's
 * own key, so it is that node, back through another server after its own died. It moves without
 * ever being announced as left (the reap later finds it gone from the dead member), so the
 * mesh's links to it stay up.
 */
export const admitScript = `${common}
local member, key, id, addr = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local room = P..'room:'..key
local holder = redis.call('HGET', P..'ids', id)
local size = redis.call('HLEN', room)
if holder == member and redis.call('HGET', room, id) == member then
  -- Registered already by this member's re-registration (restoreScript) while the admission queued.
  local out = {'ok'}
  local sample = redis.call('HRANDFIELD', room, tonumber(ARGV[8]) + 1)
  for i = 1, #sample do out[#out + 1] = sample[i] end
  return out
end
if holder and holder ~= member then
  local ttl = redis.call('PTTL', P..'member:'..holder)
  if ttl == -1 or ttl > tonumber(ARGV[9]) then return {'id'} end
  local v = redis.call('HGET', P..'nodes:'..holder, id)
  if v then
    local okey, oaddr = split(v)
    redis.call('HDEL', P..'nodes:'..holder, id)
    if redis.call('HGET', P..'room:'..okey, id) == holder then redis.call('HDEL', P..'room:'..okey, id) end
    qadd(holder, oaddr..'\\nseat:'..okey, -1)
    if redis.call('EXISTS', P..'room:'..okey) == 0 then releaseOpener(okey) end
  end
  redis.call('HDEL', P..'ids', id)
  size = redis.call('HLEN', room)
end
if size >= tonumber(ARGV[5]) then return {'room'} end
local seat = addr..'\\nseat:'..key
if qheld(seat) >= tonumber(ARGV[6]) then return {'seats'} end
local rooms = addr..'\\nrooms'
if size == 0 and qheld(rooms) >= tonumber(ARGV[7]) then return {'rooms'} end
local out = {'ok'}
if size > 0 then
  local sample = redis.call('HRANDFIELD', room, tonumber(ARGV[8]))
  for i = 1, #sample do out[#out + 1] = sample[i] end
end
redis.call('HSET', room, id, member)
redis.call('HSET', P..'ids', id, member)
redis.call('HSET', P..'nodes:'..member, id, key..'\\t'..addr)
qadd(member, seat, 1)
if size == 0 then
  redis.call('HSET', P..'opener', key, addr..'\\t'..member)
  qadd(member, rooms, 1)
end
return out
`;

/** ARGV: member, node id. Does nothing for a node this member does not hold (refused, or reaped). */
export const leaveScript = `${common}
local member, id = ARGV[1], ARGV[2]
local v = redis.call('HGET', P..'nodes:'..member, id)
if not v then return 0 end
local key, addr = split(v)
redis.call('HDEL', P..'nodes:'..member, id)
if redis.call('HGET', P..'room:'..key, id) == member then redis.call('HDEL', P..'room:'..key, id) end
if redis.call('HGET', P..'ids', id) == member then redis.call('HDEL', P..'ids', id) end
qadd(member, addr..'\\nseat:'..key, -1)
if redis.call('EXISTS', P..'room:'..key) == 0 then releaseOpener(key) end
return 1
`;

/** ARGV: member, address, cap. 1 when taken. */
export const takeConnectionScript = `${common}
local field = ARGV[2]..'\\nconnections'
if qheld(field) >= tonumber(ARGV[3]) then return 0 end
qadd(ARGV[1], field, 1)
return 1
`;

/** ARGV: member, address. Only a unit this member still holds (not one reaped meanwhile). */
export const releaseConnectionScript = `${common}
local field = ARGV[2]..'\\nconnections'
if tonumber(redis.call('HGET', P..'q:'..ARGV[1], field) or '0') > 0 then qadd(ARGV[1], field, -1) end
return 1
`;

/** ARGV: room key, to, message. Publishes to the member holding `to` in that room; 0 when none does. */
export const relayScript = `
local m = redis.call('HGET', '${keyPrefix}room:'..ARGV[1], ARGV[2])
if not m then return 0 end
redis.call('PUBLISH', '${keyPrefix}to:'..m, ARGV[3])
return 1
`;

/**
 * ARGV: dead member, max ids per message. Removes a member whose heartbeat expired and
 * publishes its nodes as reaped (in the same atomic step, so exactly one sweeper announces
 * them). -1 when the member is alive after all.
 */
export const reapScript = `${common}
local dead = ARGV[1]
if redis.call('EXISTS', P..'member:'..dead) == 1 then return -1 end
redis.call('SREM', P..'members', dead)
local removed = clearMember(dead)
local per = tonumber(ARGV[2])
for i = 1, #removed, per do
  local chunk = {}
  for j = i, math.min(i + per - 1, #removed) do chunk[#chunk + 1] = removed[j] end
  redis.call('PUBLISH', P..'events', cjson.encode({t = 'reaped', member = dead, nodes = chunk}))
end
return #removed
`;

/**
 * ARGV: member, JSON {nodes: [[id, key, address]…], connections: [address…]}. Re-registers a
 * member from its own state after Redis lost it (restart) or the member was taken for dead:
 * what it held is cleared first, so running it twice counts nothing twice. Nodes whose id
 * another member holds now are skipped; returns the ids registered.
 */
export const restoreScript = `${common}
local member = ARGV[1]
local state = cjson.decode(ARGV[2])
clearMember(member)
redis.call('SADD', P..'members', member)
local out = {}
for _, n in ipairs(state.nodes) do
  local id, key, addr = n[1], n[2], n[3]
  if redis.call('HEXISTS', P..'ids', id) == 0 then
    local room = P..'room:'..key
    if redis.call('EXISTS', room) == 0 and redis.call('HEXISTS', P..'opener', key) == 0 then
      redis.call('HSET', P..'opener', key, addr..'\\t'..member)
      qadd(member, addr..'\\nrooms', 1)
    end
    redis.call('HSET', room, id, member)
    redis.call('HSET', P..'ids', id, member)
    redis.call('HSET', P..'nodes:'..member, id, key..'\\t'..addr)
    qadd(member, addr..'\\nseat:'..key, 1)
    out[#out + 1] = id
  end
end
for _, addr in ipairs(state.connections) do qadd(member, addr..'\\nconnections', 1) end
return out
`;
