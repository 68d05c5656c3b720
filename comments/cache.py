"""A Redis cache that degrades instead of failing when Redis is unreachable.

The cache holds throttle counters, rate limits and the banned-word list: all of them can be
recomputed or skipped for a while, so a Redis outage must not turn posting or reading into
errors. Every call is answered as a miss (or a no-op) and logged; short socket timeouts in
the settings keep a dead Redis from stalling requests.
"""

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis import RedisError

logger = logging.getLogger(__name__)


def _degrading(method, fallback):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (RedisError, OSError) as error:
            logger.warning("cache %s skipped, Redis unreachable: %s", method.__name__, error)
            return fallback(*args, **kwargs) if callable(fallback) else fallback

    return call


class TolerantRedisCache(RedisCache):
    get = _degrading(RedisCache.get, lambda key, default=None, version=None: default)
    get_many = _degrading(RedisCache.get_many, {})
    has_key = _degrading(RedisCache.has_key, False)
    add = _degrading(RedisCache.add, False)
    set = _degrading(RedisCache.set, None)
    set_many = _degrading(RedisCache.set_many, [])
    touch = _degrading(RedisCache.touch, False)
    delete = _degrading(RedisCache.delete, False)
    delete_many = _degrading(RedisCache.delete_many, None)
    clear = _degrading(RedisCache.clear, False)
