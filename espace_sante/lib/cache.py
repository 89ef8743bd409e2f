"""A Redis cache that keeps the portal up while Redis is away.

Reads miss and writes are dropped (and logged) instead of failing the request: sessions fall back to the
database (`cached_db` engine), throttles start from zero again — a deliberate trade-off: a few minutes
without throttling counters beats a national health portal that nobody can open.
"""

import logging

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)
try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
except ImportError:  # pragma: no cover - redis is a dependency
    UNAVAILABLE = (OSError,)


class TolerantRedisCache(RedisCache):
    def _tolerate(self, method: str, default, *args, **kwargs):
        try:
            return getattr(super(), method)(*args, **kwargs)
        except UNAVAILABLE:
            logger.error("cache unavailable during %s", method)
            return default

    def get(self, key, default=None, version=None):
        return self._tolerate("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._tolerate("get_many", {}, keys, version)

    def set(self, key, value, timeout=None, version=None):
        return self._tolerate("set", None, key, value, timeout, version)

    def add(self, key, value, timeout=None, version=None):
        return self._tolerate("add", False, key, value, timeout, version)

    def delete(self, key, version=None):
        return self._tolerate("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._tolerate("delete_many", None, keys, version)

    def incr(self, key, delta=1, version=None):
        return self._tolerate("incr", delta, key, delta, version)

    def has_key(self, key, version=None):
        return self._tolerate("has_key", False, key, version)

    def touch(self, key, timeout=None, version=None):
        return self._tolerate("touch", False, key, timeout, version)
