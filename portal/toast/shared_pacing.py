"""Toast's rate limits paced across every process of the deployment, with the counters in Redis.

Each web process and each RQ work horse builds its own ToastClient; counters kept in one process would let two
jobs of one client together send twice what Toast allows. Here one Lua script checks and counts atomically on
Redis's own clock (``TIME``), so hosts with skewed clocks still share the same windows. Window keys expire on
their own; nothing needs cleaning up. Meant for one Redis instance (the script names keys it derives itself).
"""
from __future__ import annotations

from redis import Redis

from portal.toast.pacing import DEFAULT, BasePacer, Clock, Slot

# KEYS: 1 block key (location), 2 last-call key (kind, location), 3 the account window prefix, 4.. the location's
# window prefixes. ARGV: 1 min spacing ms, then per window (account first): limit, length ms.
# Returns {0, 0} (counted) or {ms to wait, 1 when the account window alone decides it}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = 0
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked > now then delay = blocked - now end
local spacing = tonumber(ARGV[1])
local last = redis.call('GET', KEYS[2])
if spacing > 0 and last then delay = math.max(delay, tonumber(last) + spacing - now) end
local keys = {}
local account = 0
for i = 3, #KEYS do
  local limit, length = tonumber(ARGV[2 * i - 4]), tonumber(ARGV[2 * i - 3])
  local index = math.floor(now / length)
  local key = KEYS[i] .. ':' .. index
  if tonumber(redis.call('GET', key) or '0') >= limit then
    local wait = (index + 1) * length - now
    if i == 3 then account = wait end
    delay = math.max(delay, wait)
  end
  keys[#keys + 1] = {key, length}
end
if delay > 0 then
  if account > 0 and account >= delay then return {delay, 1} end
  return {delay, 0}
end
for _, entry in ipairs(keys) do
  redis.call('INCR', entry[1])
  redis.call('PEXPIRE', entry[1], entry[2] * 2)
end
redis.call('SET', KEYS[2], now, 'PX', 86400000)
return {0, 0}
"""

# KEYS: 1 block key. ARGV: 1 ms to block. Keeps the later of the stored and the new end.
_DEFER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then redis.call('SET', KEYS[1], untl, 'PX', tonumber(ARGV[1]) + 1000) end
return untl
"""


class RedisPacer(BasePacer):
    """The limits of one Toast client (``client_key``: host and client ID), counted in Redis."""

    def __init__(self, redis: Redis, client_key: str, clock: Clock | None = None, **limits):
        super().__init__(clock, **limits)
        self._prefix = f"toast-pacing:{client_key}"
        self._take_script = redis.register_script(_TAKE)
        self._defer_script = redis.register_script(_DEFER)

    def try_acquire(self, kind: str = DEFAULT, location: str | None = None, *, min_spacing: float = 0.0) -> Slot:
        where = f"{self._prefix}:loc:{location}"
        windows = [(f"{self._prefix}:account:{int(self.account_limit[1])}", *self.account_limit)]
        windows += [(f"{where}:{int(seconds)}", limit, seconds) for limit, seconds in self.location_limits]
        limit = self.endpoint_limits.get(kind)
        if limit is not None:
            windows.append((f"{self._prefix}:{kind}:{location}", limit, 1.0))
        keys = [self._block_key(location), f"{self._prefix}:last:{kind}:{location}", *(w[0] for w in windows)]
        args = [int(min_spacing * 1000)]
        for _, window_limit, seconds in windows:
            args += [window_limit, int(seconds * 1000)]
        delay_ms, account_wide = self._take_script(keys=keys, args=args)
        return Slot(int(delay_ms) / 1000.0, bool(account_wide))

    def defer(self, location: str | None, seconds: float) -> None:
        milliseconds = int(min(seconds, self.max_server_wait) * 1000)
        if milliseconds > 0:
            self._defer_script(keys=[self._block_key(location)], args=[milliseconds])

    def _block_key(self, location: str | None) -> str:
        return f"{self._prefix}:blocked:{location}"
