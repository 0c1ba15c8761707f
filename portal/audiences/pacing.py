"""Destination rate limits paced across every worker and web process, with the counters in Redis.

The ideas of ``portal.toast.shared_pacing``: one Lua script checks and counts atomically on Redis's clock, fixed
windows aligned on the epoch as the vendors count them, a block key that a 429's ``Retry-After`` (or RateLimit
headers saying nothing is left) sets for every process. Added here: a cap on simultaneous requests per account
(Mailchimp allows 10 connections per API key), as leases in a sorted set that expire on their own if a worker dies
holding one. Keys are per destination account (``account_key``) and endpoint bucket.
"""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis

# KEYS: 1 block key, 2 lease set, 3.. window prefixes. ARGV: 1 lease token, 2 lease ms, 3 concurrency (0: none),
# then per window: limit, length ms. Returns ms to wait (0: counted and leased).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = 0
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked > now then delay = blocked - now end
local concurrency = tonumber(ARGV[3])
if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= concurrency then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    delay = math.max(delay, math.min(50, tonumber(first[2]) - now))
  end
end
local keys = {}
for i = 3, #KEYS do
  local limit, length = tonumber(ARGV[2 * i - 2]), tonumber(ARGV[2 * i - 1])
  local index = math.floor(now / length)
  local key = KEYS[i] .. ':' .. index
  if tonumber(redis.call('GET', key) or '0') >= limit then delay = math.max(delay, (index + 1) * length - now) end
  keys[#keys + 1] = {key, length}
end
if delay > 0 then return delay end
for _, entry in ipairs(keys) do
  redis.call('INCR', entry[1])
  redis.call('PEXPIRE', entry[1], entry[2] * 2)
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
end
return 0
"""

_DEFER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = now + tonumber(ARGV[1])
if untl > tonumber(redis.call('GET', KEYS[1]) or '0') then redis.call('SET', KEYS[1], untl, 'PX', tonumber(ARGV[1]) + 1000) end
return untl
"""

MAX_SERVER_WAIT = 900.0


@dataclass(frozen=True)
class Limits:
    """Per bucket: windows of (requests, seconds); per account: simultaneous requests."""
    windows: dict  # bucket -> tuple of (limit, seconds)
    concurrency: int = 0
    lease_seconds: float = 120.0  # longer than any request's timeout


class AccountPacer:
    """Waits until a request to the account's ``bucket`` may go; a lease while it is in flight."""

    def __init__(self, redis: Redis, account_key: str, limits: Limits, sleep=time.sleep):
        self.limits = limits
        self._prefix = f"audience-pacing:{account_key}"
        self._take = redis.register_script(_TAKE)
        self._defer = redis.register_script(_DEFER)
        self._redis = redis
        self._sleep = sleep
        self.waited = 0.0

    @contextmanager
    def slot(self, bucket: str = "default"):
        token = uuid.uuid4().hex
        windows = self.limits.windows.get(bucket) or self.limits.windows.get("default") or ()
        keys = [self._block_key(), f"{self._prefix}:leases"]
        keys += [f"{self._prefix}:{bucket}:{int(seconds * 1000)}" for _, seconds in windows]
        args = [token, int(self.limits.lease_seconds * 1000), self.limits.concurrency]
        for limit, seconds in windows:
            args += [limit, int(seconds * 1000)]
        while (delay := int(self._take(keys=keys, args=args))) > 0:
            self._sleep(delay / 1000.0)
            self.waited += delay / 1000.0
        try:
            yield
        finally:
            if self.limits.concurrency:
                self._redis.zrem(f"{self._prefix}:leases", token)

    def defer(self, seconds: float) -> None:
        """Send nothing to this account for ``seconds`` (a 429's Retry-After), from any process."""
        milliseconds = int(min(seconds, MAX_SERVER_WAIT) * 1000)
        if milliseconds > 0:
            self._defer(keys=[self._block_key()], args=[milliseconds])

    def _block_key(self) -> str:
        return f"{self._prefix}:blocked"
