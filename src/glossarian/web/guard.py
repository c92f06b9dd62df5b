"""Protection for the web layer: origins, hosts, rate limit, login throttle, bearer token, headers, log redaction.

Policy, from Settings (request bodies, uploads and proxy headers are gate.py's):
- allowed_origins: the only other origins that may frame the widget (CSP frame-ancestors) and call the
  server from a browser (CORS). Empty means same origin only; "*" allows every origin.
- allowed_hosts: the Host names the server answers to (DNS rebinding, poisoned URLs); empty = any.
- api_token: when set, /api/* needs `Authorization: Bearer <token>`.
- rate_limit: questions per minute per client (API and chat alike); 0 turns it off.
- login_attempts: failed UI logins per client and per user name before each further try has to wait.
"""
from __future__ import annotations

import hmac
import logging
import math
import re
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from glossarian.errors import GlossarianError

WINDOW_S = 60.0
MIN_PASSWORD_CHARS = 8  # the probe's "pw" was accepted; eight is the usual floor (NIST SP 800-63B)
LOCKOUT_MAX_S = 900.0  # the backoff doubles up to 15 minutes


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
    if len(password) < MIN_PASSWORD_CHARS:
        raise GlossarianError(f"The GLOSSARIAN_UI_AUTH password is shorter than {MIN_PASSWORD_CHARS} characters.",
                              "Choose a longer password (a few random words work well).")
    return user, password


def parse_hosts(raw: str) -> list[str]:
    """'glossary.example.com, 10.0.0.5' -> the Host names to accept (ports do not matter); [] = any."""
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


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


class LoginThrottle:
    """Failed logins per key (a client address, a user name). After `free` failures in a row each further
    attempt must wait 2, 4, 8 ... s (at most LOCKOUT_MAX_S); a success clears the keys. Thread-safe."""

    def __init__(self, free: int, clock=time.monotonic):
        self.free = max(1, free)
        self.clock = clock
        self._state: dict[str, tuple[int, float]] = {}  # key -> (failures, locked until)
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds before any of `keys` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            return max((self._state.get(k, (0, 0.0))[1] - now for k in keys), default=0.0) if keys else 0.0

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._state) > 10_000:  # forget keys whose lockout ended long ago
                self._state = {k: v for k, v in self._state.items() if now - v[1] < LOCKOUT_MAX_S}
            for key in keys:
                failures = self._state.get(key, (0, 0.0))[0] + 1
                locked = now + min(LOCKOUT_MAX_S, 2.0 ** (failures - self.free + 1)) if failures >= self.free else 0.0
                self._state[key] = (failures, locked)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._state.pop(key, None)


BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
API_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-]{4,}")


class RedactSecrets(logging.Filter):
    """A handler filter: bearer tokens, sk-... keys and the configured secrets never reach a log line
    (an LLM endpoint's error body may quote the key it was sent)."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return API_KEY.sub("sk-[redacted]", BEARER.sub(r"\1[redacted]", text))

    def filter(self, record: logging.LogRecord) -> bool:
        # Arguments are redacted one by one: formatters such as uvicorn's access log read them.
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a if isinstance(a, (int, float))
                                else self.redact(str(a)) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self.redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def app_path(scope: Scope) -> str:
    """The path without the deployment prefix (UnderPrefix puts the prefix into every path)."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root):] or "/"
    return path


def frame_sources(origins: list[str]) -> str:
    return "*" if "*" in origins else " ".join(["'self'", *origins])


def limiter_for(settings):
    """The rate limiter the settings ask for: counted in Redis when GLOSSARIAN_REDIS_URL is set (shared by
    replicas, web/redis_limiter.py), else in this process."""
    if settings.redis_url:
        from glossarian.web.redis_limiter import RedisRateLimiter

        return RedisRateLimiter(settings.rate_limit, settings.redis_url)
    return RateLimiter(settings.rate_limit)


class SecurityHeaders:
    """ASGI middleware: a CSP (images only from us, so model output cannot make browsers fetch other hosts;
    only the widget may be framed by the allowed origins), and no MIME sniffing."""

    BASE_CSP = "img-src 'self' data:; object-src 'none'; base-uri 'self'"

    def __init__(self, app: ASGIApp, origins: list[str]):
        self.app = app
        self.csp = f"{self.BASE_CSP}; frame-ancestors 'self'"
        self.widget_csp = f"{self.BASE_CSP}; frame-ancestors {frame_sources(origins)}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                path = app_path(scope)
                widget = path == "/widget" or path.startswith("/widget/")
                headers["Content-Security-Policy"] = self.widget_csp if widget else self.csp
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_headers)
