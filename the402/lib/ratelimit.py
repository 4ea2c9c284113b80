"""Rate limits for the free endpoints that make us work, counted in the shared cache.

`rate_limit(scope, who)` lets ``who`` (an authenticated caller's id) make
``settings.RATE_LIMITS[scope]`` requests per ``settings.RATE_LIMIT_WINDOW`` seconds (a fixed
window) and raises `RateLimited` past that: 429 ``{"error", "code": "rate_limited"}`` with
``Retry-After`` (seconds until the window ends). Call it after authentication, so a
stranger cannot spend someone else's allowance.

Counting uses only the cache's atomic ``add`` (an INSERT on the database cache, SET NX on
Redis): request *n* of a window takes slot *n*, a key of its own, and a request that finds
every slot taken is refused. The database cache's ``incr`` is a read then a write, so
concurrent requests would be lost in a counter; slots cannot be taken twice, so the limit
holds exactly across processes. A cache that fails (Redis down, the table missing) lets the
request through and logs an error: the limits guard capacity, not money.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled

logger = logging.getLogger(__name__)

KEY_PREFIX = "the402:rl"


class RateLimited(Throttled):
    """429 ``{"error", "code": "rate_limited"}``; DRF adds ``Retry-After: <wait>``."""

    default_code = "rate_limited"
    extra_detail_singular = "Retry in {wait} second."
    extra_detail_plural = "Retry in {wait} seconds."


def _slots(scope: str, who: str, window_index: int, limit: int) -> list[str]:
    caller = hashlib.sha256(who.encode()).hexdigest()[:32]
    return [f"{KEY_PREFIX}:{scope}:{caller}:{window_index}:{slot}" for slot in range(limit)]


def _take_slot(keys: list[str], timeout: int) -> bool:
    """Take the first free slot; False when all are taken."""
    taken = cache.get_many(keys)  # one query: slots fill in order, so skip the taken ones
    for key in keys:
        if key not in taken and cache.add(key, 1, timeout=timeout):
            return True
    return False


def rate_limit(scope: str, who: str) -> None:
    """Count one request of ``who`` on ``scope``; raises RateLimited past the limit."""
    limit = int(settings.RATE_LIMITS[scope])
    window = int(settings.RATE_LIMIT_WINDOW)
    now = time.time()
    window_index = int(now // window)
    keys = _slots(scope, who, window_index, limit)
    try:
        allowed = _take_slot(keys, timeout=window * 2)
    except Exception:  # the cache is down: serve rather than refuse everyone
        logger.exception("rate limit %s: the cache failed, request let through", scope)
        return
    if not allowed:
        wait = max(1, math.ceil((window_index + 1) * window - now))
        raise RateLimited(
            wait=wait, detail=f"Too many requests: at most {limit} every {window} seconds."
        )
