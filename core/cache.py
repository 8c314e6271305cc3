"""The cache is Redis in production; what it raises while Redis is unreachable.

Callers that only use the cache to save work (rate-limit counters, the allowed-origins
list) catch these and carry on without it, so a Redis outage never turns a request that
the database can answer into a 500.
"""

from __future__ import annotations

from redis.exceptions import RedisError

# redis-py's own errors, and the socket errors (ConnectionError is an OSError) under them.
CACHE_UNREACHABLE: tuple[type[Exception], ...] = (RedisError, OSError)
