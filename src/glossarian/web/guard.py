"""Protection for the web layer: allowed origins, per-client rate limit, bearer token, security headers.

Policy, from Settings:
- allowed_origins: the only other origins that may frame the pages (CSP frame-ancestors) and call the
  server from a browser (CORS). Empty means same origin only; "*" allows every origin.
- api_token: when set, /api/* needs `Authorization: Bearer <token>`.
- rate_limit: questions per minute per client (API and chat alike); 0 turns it off.
"""
from __future__ import annotations

import hmac
import math
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from glossarian.errors import GlossarianError

WINDOW_S = 60.0


def parse_origins(raw: str) -> list[str]:
    """'https://wiki.example.com, http://10.0.0.5:8080/' -> ['https://wiki.example.com', 'http://10.0.0.5:8080']."""
    origins = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item == "*":
            origins.append(item)
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
                or parts.query or parts.fragment:
            raise GlossarianError(
                f"GLOSSARIAN_ALLOWED_ORIGINS entry {item!r} is not an origin.",
                "Use scheme://host[:port] separated by commas, e.g. https://wiki.example.com,http://10.0.0.5:8080 "
                "(or * to allow every origin).",
            )
        origins.append(f"{parts.scheme}://{parts.netloc}".lower())
    return origins


def parse_ui_auth(raw: str) -> tuple[str, str] | None:
    if not raw:
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise GlossarianError("GLOSSARIAN_UI_AUTH must look like user:password.",
                              "Set it to e.g. editor:a-long-password, or unset it to leave the UI open.")
    return user, password


def token_ok(authorization: str | None, token: str) -> bool:
    """True when no token is configured, or the header carries exactly `Bearer <token>`."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class RateLimiter:
    """Sliding one-minute window: at most `per_minute` hits per client key. Thread-safe."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record one request; return 0 if it is allowed, else the seconds to wait before the next one."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            if len(self._hits) > 10_000:  # forget idle clients so the table cannot grow without bound
                self._hits = {k: q for k, q in self._hits.items() if q and now - q[-1] < WINDOW_S}
            recent = self._hits.setdefault(key, deque())
            while recent and now - recent[0] >= WINDOW_S:
                recent.popleft()
            if len(recent) >= self.per_minute:
                return max(1.0, math.ceil(WINDOW_S - (now - recent[0])))
            recent.append(now)
            return 0.0

    def message(self, wait_s: float) -> tuple[str, str]:
        return (f"Too many questions: the limit is {self.per_minute} per minute.",
                f"Try again in {wait_s:.0f} s.")


def limiter_for(settings):
    """The rate limiter the settings ask for: counted in Redis when GLOSSARIAN_REDIS_URL is set (shared by
    replicas, web/redis_limiter.py), else in this process."""
    if settings.redis_url:
        from glossarian.web.redis_limiter import RedisRateLimiter

        return RedisRateLimiter(settings.rate_limit, settings.redis_url)
    return RateLimiter(settings.rate_limit)


class SecurityHeaders:
    """ASGI middleware: who may frame our pages (CSP frame-ancestors), and no MIME sniffing."""

    def __init__(self, app: ASGIApp, origins: list[str]):
        self.app = app
        sources = "*" if "*" in origins else " ".join(["'self'", *origins])
        self.csp = f"frame-ancestors {sources}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.csp
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_headers)
