"""Per-key rate limiting in Redis: a sliding-window log, atomic in one Lua script.

"100 requests per second" means at most 100 accepted requests in ANY one-second window, whichever
gateway replica served them: a burst of 500 in a second gets about 100 through, not a bucket's
burst plus its refill. Rejected requests are not logged, so a client hammering the API is let back
in as soon as its old requests leave the window. Answers carry the IETF `RateLimit-*` headers, and
429s a `Retry-After` that tells the client exactly when a slot frees up.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.core.config import Settings

log = logging.getLogger(__name__)

_SLIDING_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, member)
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, tostring(reset)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: float

    def headers(self) -> dict[str, str]:
        reset = max(math.ceil(self.reset_s), 0)
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(reset, 1))
        return headers


class RateLimiter:
    """Sliding-window limiter shared by all gateway replicas through Redis."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis: aioredis.Redis = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=settings.backend_timeout_s
        )
        self._script = self.redis.register_script(_SLIDING_WINDOW)

    async def hit(self, key: str, limit: int, window_s: float) -> Decision:
        """Count one request for `key` if the window has room; say so either way."""
        redis_key = f"{self.settings.queue_prefix}elysia:ratelimit:{key}"
        now = time.time()
        try:
            allowed, count, reset = await self._script(
                keys=[redis_key], args=[now, window_s, limit, f"{now:.6f}:{uuid.uuid4().hex[:8]}"]
            )
        except RedisError as exc:
            # Fail open: with Redis down, submissions still reach MongoDB and S3 and are
            # re-driven later; refusing every request would turn a queue outage into an API one.
            log.warning("rate limiter unavailable, request allowed: %s", exc)
            return Decision(allowed=True, limit=limit, remaining=limit, reset_s=0.0)
        return Decision(
            allowed=bool(allowed),
            limit=limit,
            remaining=max(limit - int(count), 0),
            reset_s=float(reset),
        )

    async def close(self) -> None:
        await self.redis.aclose()
