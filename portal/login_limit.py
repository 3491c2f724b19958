"""Failed log-ins, counted in the cache per user name and per client address.

Past OKAMI_LOGIN_FAILURE_LIMIT failures within OKAMI_LOGIN_FAILURE_WINDOW_SECONDS (counted from the first
one) for a user name or from an address, the login page stops checking passwords for it until the window
ends. The address is the one the API throttles use (REMOTE_ADDR, or the X-Forwarded-For entry of the
outermost of DJANGO_PROXY_COUNT proxies), so a client cannot pick its own by sending the header.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    return BaseThrottle().get_ident(request)


def _keys(*, username: str, address: str) -> list[str]:
    keys = [f"login-failures:address:{address}"]
    if username:
        # Hashed: a user name may hold anything, and a cache key must not.
        keys.append("login-failures:user:" + hashlib.sha256(username.casefold().encode()).hexdigest())
    return keys


def login_blocked(*, username: str, address: str) -> bool:
    counts = cache.get_many(_keys(username=username, address=address))
    return any(count >= settings.OKAMI_LOGIN_FAILURE_LIMIT for count in counts.values())


def login_failure_record(*, username: str, address: str) -> None:
    window = settings.OKAMI_LOGIN_FAILURE_WINDOW_SECONDS
    for key in _keys(username=username, address=address):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: this failure opens a new window
            cache.add(key, 1, timeout=window)


def login_failures_forget(*, username: str) -> None:
    """A correct password clears its user name's count; the address keeps its own."""
    cache.delete(_keys(username=username, address="")[1])
