"""Memoised service results, keyed by function, arguments and the data build_id.

Uses flask-caching's backends (a filesystem cache shared by gunicorn workers by default, Redis
when CSOPS_CACHE_REDIS_URL is set) without needing a Flask app, so services stay free of Dash and
unit tests can run them directly. `Database.__repr__` carries the build_id, so a new import
changes every key at once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import pickle
from collections.abc import Callable
from typing import Any, TypeVar

from flask_caching.backends import FileSystemCache, NullCache, RedisCache, SimpleCache

from services.settings import load_settings

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
_backend = None


def configure(cache_type: str | None = None) -> None:
    """(Re)create the backend from settings; `cache_type` overrides CSOPS_CACHE_TYPE."""
    global _backend
    s = load_settings()
    kind = cache_type or s.cache_type
    if kind == "filesystem":
        s.cache_dir.mkdir(parents=True, exist_ok=True)
        _backend = FileSystemCache(
            str(s.cache_dir), threshold=20000, default_timeout=s.cache_timeout_seconds
        )
    elif kind == "redis":
        import redis  # optional dependency, only when configured

        _backend = RedisCache(
            redis.from_url(s.cache_redis_url),
            default_timeout=s.cache_timeout_seconds,
            key_prefix="csops:",
        )
    elif kind == "simple":
        _backend = SimpleCache(default_timeout=s.cache_timeout_seconds)
    else:
        _backend = NullCache()


def clear() -> None:
    if _backend is not None:
        _backend.clear()


def _key(fn: Callable[..., Any], args: tuple, kwargs: dict) -> str:
    raw = repr((fn.__module__, fn.__qualname__, args, sorted(kwargs.items())))
    return "csops:" + hashlib.sha256(raw.encode()).hexdigest()


def memoize(fn: F) -> F:
    """Cache a service function's result; the first argument must be the Database."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _backend is None:
            return fn(*args, **kwargs)
        key = _key(fn, args, kwargs)  # repr(db) reads build_id: raises if no data, uncached
        hit = _backend.get(key)
        if hit is not None:
            return pickle.loads(hit)
        result = fn(*args, **kwargs)
        try:
            _backend.set(key, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # a full disk or a Redis outage must not break the page
            log.exception("cache write failed for %s", fn.__qualname__)
        return result

    wrapper.uncached = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
