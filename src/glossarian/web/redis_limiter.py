"""The per-client rate limit counted in Redis, so it holds across server processes and replicas.

Selected by GLOSSARIAN_REDIS_URL (guard.limiter_for); without it the in-process RateLimiter stays the default.
Same policy and interface as guard.RateLimiter: a sliding one-minute window of at most `per_minute` questions
per client key, `hit(key)` returns 0 when allowed or the seconds to wait. One Lua script does the whole check
atomically on Redis's own clock (a sorted set per client, trimmed to the window, expiring with it), so
replicas with skewed clocks still agree.

When Redis cannot be reached the question is let through and the failure is logged (at most once a minute):
the limit protects the service; an outage of the limiter should not take answers away from readers.
"""
from __future__ import annotations

import logging
import math
import time
import uuid

log = logging.getLogger("glossarian.web")

WINDOW_MS = 60_000
PREFIX = "glossarian:rate:"

# KEYS[1] = the client's sorted set; ARGV = limit, window ms, unique member. Returns ms to wait, 0 = allowed.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, window - (now - tonumber(oldest[2])))
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


class RedisRateLimiter:
    """guard.RateLimiter's interface, with the window kept in Redis (shared by every replica)."""

    def __init__(self, per_minute: int, url: str, client=None):
        self.per_minute = per_minute
        self.url = url
        if client is None:
            import redis

            client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.client = client
        self._script = client.register_script(SCRIPT)
        self._last_warning = -math.inf

    def hit(self, key: str) -> float:
        """Record one request; return 0 if it is allowed, else the seconds to wait before the next one."""
        if self.per_minute <= 0:
            return 0.0
        try:
            wait_ms = int(self._script(keys=[PREFIX + key], args=[self.per_minute, WINDOW_MS, uuid.uuid4().hex]))
        except Exception as exc:  # redis.RedisError, OSError: let the reader through, tell the operator
            now = time.monotonic()
            if now - self._last_warning > 60:
                self._last_warning = now
                log.warning("Rate limit not enforced: Redis at %s is unreachable (%s).", self.url, exc)
            return 0.0
        return 0.0 if wait_ms <= 0 else float(max(1, math.ceil(wait_ms / 1000)))

    def message(self, wait_s: float) -> tuple[str, str]:
        return (f"Too many questions: the limit is {self.per_minute} per minute.",
                f"Try again in {wait_s:.0f} s.")
