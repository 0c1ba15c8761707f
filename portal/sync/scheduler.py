"""The paced scheduler of order pages: which location's next page is due, fair between organizations.

Every location with an order run (backfill or poll) is one *task*, kept in Redis with the time its next page
may be fetched. Workers never sleep on a location: ``dispatch`` hands out tasks whose time has come, at most
``in_flight`` at once, taking one task per organization per round in least-recently-served order, so a
1,000-location onboarding cannot hold a 3-location group's pages behind it. A step job fetches one page and
``finish``es its task with the delay until the location's next page (Toast's history spacing, a ``Retry-After``)
or with None when the run is over. A task handed out carries a lease: if its worker dies, the task is due again
when the lease runs out, and the page checkpoint in the database makes the retry resume at the page not stored.
``hold`` delays every task of an organization (its Toast client's account cap is spent).

Redis keys under ``namespace`` (the CLI's ``--inline`` runs use a private one):
    due:<org>  ZSET location -> due time (ms);   orgs  ZSET org -> when its first task may go (ms)
    hold       HASH org -> held until (ms);      turns ZSET org -> last turn served;   turn  counter
    leases     ZSET "<org>:<location>" -> lease expiry (ms)
Times come from the caller's clock, so tests drive the scheduler with a fake one.
"""
from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from portal.toast.pacing import Clock, SystemClock

# Shared by the scripts: recompute when an organization's first task may go (or drop it).
_REFRESH = """
local function refresh(ns, org)
  local first = redis.call('ZRANGE', ns .. 'due:' .. org, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', ns .. 'orgs', org)
    redis.call('HDEL', ns .. 'hold', org)
    return
  end
  local at = tonumber(first[2])
  local held = tonumber(redis.call('HGET', ns .. 'hold', org) or '0')
  if held > at then at = held end
  redis.call('ZADD', ns .. 'orgs', at, org)
end
"""

# ARGV: namespace, org, location, due ms (or -1: remove the task). Ends any lease of the task.
_ARM = _REFRESH + """
local ns, org, location, due = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
redis.call('ZREM', ns .. 'leases', org .. ':' .. location)
if due < 0 then
  redis.call('ZREM', ns .. 'due:' .. org, location)
else
  redis.call('ZADD', ns .. 'due:' .. org, due, location)
end
refresh(ns, org)
return 1
"""

# ARGV: namespace, org, until ms. Keeps the later of the stored and the new time.
_HOLD = _REFRESH + """
local ns, org, untl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local held = tonumber(redis.call('HGET', ns .. 'hold', org) or '0')
if untl > held then redis.call('HSET', ns .. 'hold', org, untl) end
refresh(ns, org)
return 1
"""

# ARGV: namespace, now ms, in-flight limit, lease ms. Returns a flat list org1, location1, org2, location2, ...
_DISPATCH = _REFRESH + """
local ns, now, limit, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', ns .. 'leases', '-inf', now)) do
  local org, location = string.match(member, '^([^:]+):(.+)$')
  redis.call('ZREM', ns .. 'leases', member)
  redis.call('ZADD', ns .. 'due:' .. org, now, location)
  refresh(ns, org)
end
local room = limit - redis.call('ZCARD', ns .. 'leases')
local picked = {}
if room <= 0 then return picked end
local orgs = redis.call('ZRANGEBYSCORE', ns .. 'orgs', '-inf', now)
local turn_of = {}
for _, org in ipairs(orgs) do turn_of[org] = tonumber(redis.call('ZSCORE', ns .. 'turns', org) or '0') end
table.sort(orgs, function(a, b) return turn_of[a] < turn_of[b] end)
while room > 0 and #orgs > 0 do
  local again = {}
  for _, org in ipairs(orgs) do
    if room <= 0 then break end
    local first = redis.call('ZRANGE', ns .. 'due:' .. org, 0, 0, 'WITHSCORES')
    if #first > 0 and tonumber(first[2]) <= now then
      redis.call('ZREM', ns .. 'due:' .. org, first[1])
      redis.call('ZADD', ns .. 'leases', now + lease, org .. ':' .. first[1])
      redis.call('ZADD', ns .. 'turns', redis.call('INCR', ns .. 'turn'), org)
      picked[#picked + 1] = org
      picked[#picked + 1] = first[1]
      room = room - 1
      again[#again + 1] = org
    end
  end
  for _, org in ipairs(orgs) do refresh(ns, org) end
  orgs = again
end
return picked
"""


@dataclass(frozen=True)
class Task:
    org_id: int
    location_id: int


class Scheduler:
    """Order-page tasks of every location, in Redis, shared by every worker process."""

    def __init__(self, redis: Redis, *, namespace: str = "sync", in_flight: int = 8, lease_seconds: float = 150.0,
                 clock: Clock | None = None):
        self.redis = redis
        self.namespace = namespace.rstrip(":") + ":"
        self.in_flight = in_flight
        self.lease_ms = int(lease_seconds * 1000)
        self.clock = clock or SystemClock()
        self._arm = redis.register_script(_ARM)
        self._hold = redis.register_script(_HOLD)
        self._dispatch = redis.register_script(_DISPATCH)

    def _now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    def arm(self, task: Task, delay: float = 0.0) -> None:
        """The location's next page may go in ``delay`` seconds (ends its lease)."""
        due = self._now_ms() + max(0, int(delay * 1000))
        self._arm(args=[self.namespace, task.org_id, task.location_id, due])

    def finish(self, task: Task, delay: float | None) -> None:
        """A step is over: the next page in ``delay`` seconds, or None when the location has no more pages."""
        if delay is None:
            self._arm(args=[self.namespace, task.org_id, task.location_id, -1])
        else:
            self.arm(task, delay)

    def hold(self, org_id: int, seconds: float) -> None:
        """No task of the organization goes for ``seconds`` (its client's account cap is spent)."""
        self._hold(args=[self.namespace, org_id, self._now_ms() + int(seconds * 1000)])

    def dispatch(self) -> list[Task]:
        """Hand out the tasks due now (leased), fairly between organizations, up to the in-flight limit."""
        flat = self._dispatch(args=[self.namespace, self._now_ms(), self.in_flight, self.lease_ms])
        return [Task(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def seconds_until_due(self) -> float | None:
        """Until the earliest task (or lease expiry) comes due; 0 when one is due now; None when there is none."""
        first = self.redis.zrange(self.namespace + "orgs", 0, 0, withscores=True)
        lease = self.redis.zrange(self.namespace + "leases", 0, 0, withscores=True)
        times = [score for _, score in first + lease]
        if not times:
            return None
        return max(0.0, (min(times) - self._now_ms()) / 1000.0)

    def scheduled(self, task: Task) -> bool:
        """Whether the task is waiting or handed out (else it was lost, e.g. with Redis: arm it again)."""
        member = f"{task.org_id}:{task.location_id}"
        return (self.redis.zscore(f"{self.namespace}due:{task.org_id}", task.location_id) is not None
                or self.redis.zscore(self.namespace + "leases", member) is not None)

    def in_flight_count(self) -> int:
        return int(self.redis.zcard(self.namespace + "leases"))

    def clear(self) -> None:
        """Drop every key of this namespace (an inline run's private one when it ends)."""
        keys = list(self.redis.scan_iter(self.namespace + "*"))
        if keys:
            self.redis.delete(*keys)
