"""The gate in front of every route: request bodies, unused routes, logins and proxy headers, before any route runs.

Why it exists: FastAPI reads and parses a whole request body before it resolves Gradio's login check, so a
locked-down server took 100 MB bodies into memory from anyone (security probe 2026-11, finding 1). Here:
- routes the app does not use (uploads, recordings, media streams) answer 404;
- with UI_AUTH set, a body for a Gradio route is refused (401) unless the request carries a live login
  cookie, before a single body byte is read; /api/* bodies with a wrong token are never read either;
- every other body is read here, up to its route's cap (Content-Length checked first, streamed and chunked
  bytes counted as they arrive) and within `body_timeout` seconds, then handed on whole;
- failed logins are throttled per client address and per user name (guard.LoginThrottle);
- X-Forwarded-* headers are dropped unless a trusted proxy is configured (Gradio builds URLs from them);
- an input Gradio's direct-call routes refuse (a gr.Error) is a 4xx, not Gradio's blanket 500.
"""
from __future__ import annotations

import asyncio
import json
import re
from http.cookies import SimpleCookie
from math import ceil

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from glossarian.web.guard import LoginThrottle, app_path, token_ok

KIB = 1024
API_BODY = 1024 * KIB  # /api/ask: a 2,000-character question plus a history within its bounds, with room
# A chat question is a few KiB; a gradio_client call sends its history too, and JSON escapes CJK to six bytes
# a character, so the 32,000-character history bound needs ~190 KiB.
GRADIO_BODY = 256 * KIB
LOGIN_BODY = 16 * KIB
OTHER_BODY = 64 * KIB

REFUSED = re.compile(r"^(?:/widget)?/gradio_api/(?:upload|upload_progress|process_recording|stream)(?:/|$)")
GRADIO = re.compile(r"^(?:/widget)?/gradio_api/")
DIRECT_CALL = re.compile(r"^(?:/widget)?/gradio_api/(?:run|api)/")
LOGIN = re.compile(r"^(?:/widget)?/login/?$")
FORWARDED = {b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-port",
             b"x-forwarded-prefix", b"x-real-ip"}
NO_BODY = {"GET", "HEAD", "OPTIONS"}


class GradioSessions:
    """Whether a request carries a live Gradio login; `apps` is filled once the chat apps are mounted."""

    def __init__(self):
        self.apps: list = []

    def signed_in(self, scope: Scope) -> bool:
        raw = b"; ".join(v for k, v in scope["headers"] if k == b"cookie").decode("latin-1")
        cookie = SimpleCookie()
        try:
            cookie.load(raw)
        except Exception:  # a malformed cookie header is simply no login
            return False
        for app in self.apps:
            for name in (f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}"):
                if name in cookie and cookie[name].value in app.tokens:
                    return True
        return False


class Gate:
    def __init__(self, app: ASGIApp, *, settings, sessions: GradioSessions, throttle: LoginThrottle,
                 error_status: dict[str, int], ui_auth: bool):
        self.app = app
        self.settings = settings
        self.sessions = sessions
        self.throttle = throttle
        self.error_status = error_status
        self.ui_auth = ui_auth
        self.trust_forwarded = bool(settings.trusted_proxies.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not self.trust_forwarded:
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k not in FORWARDED]}
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = app_path(scope)
        if REFUSED.match(path):
            await JSONResponse({"detail": "Not Found"}, 404)(scope, receive, send)
            return
        if scope["method"] in NO_BODY:
            await self.app(scope, receive, send)
            return
        if self.ui_auth and GRADIO.match(path) and not self.sessions.signed_in(scope):
            await JSONResponse({"detail": {"error": "Not authenticated", "auth_message": None}}, 401)(
                scope, receive, send)
            return
        if path.startswith("/api/") and not token_ok(_header(scope, b"authorization"), self.settings.api_token):
            await self.app(scope, receive, send)  # the route refuses it without reading the body
            return
        cap = API_BODY if path.startswith("/api/") else LOGIN_BODY if LOGIN.match(path) \
            else GRADIO_BODY if GRADIO.match(path) else OTHER_BODY
        body = await self._read(scope, receive, send, cap)
        if body is None:
            return
        replay = _replay(body, receive)
        if LOGIN.match(path):
            await self._login(scope, body, replay, send)
        elif DIRECT_CALL.match(path):
            await self.app(scope, replay, self._user_errors_as_4xx(send))
        else:
            await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive, send: Send, cap: int) -> bytes | None:
        """The whole body, or None after answering 413 (over the cap) or 408 (too slow) or on a disconnect."""
        declared = _header(scope, b"content-length") or ""
        if declared.isdigit() and int(declared) > cap:
            await _too_large(scope, receive, send, cap)
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.body_timeout
        chunks, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                await JSONResponse({"error": "The request body arrived too slowly.",
                                    "hint": f"Send the whole body within {self.settings.body_timeout:g} s."},
                                   408, headers={"Connection": "close"})(scope, receive, send)
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _too_large(scope, receive, send, cap)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _login(self, scope: Scope, body: bytes, replay: Receive, send: Send) -> None:
        try:
            form = await Request(scope, _replay(body, None)).form()
            user = str(form.get("username") or "").strip().lower()
        except Exception:  # let Gradio answer whatever it answers to a malformed form
            user = ""
        client = scope["client"][0] if scope.get("client") else "unknown"
        keys = (f"client:{client}", f"user:{user}")
        wait = self.throttle.wait(*keys)
        if wait > 0:
            seconds = max(1, ceil(wait))
            await JSONResponse({"detail": f"Too many failed logins. Try again in {seconds} s."}, 429,
                               headers={"Retry-After": str(seconds)})(scope, replay, send)
            return
        status = 0

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, replay, watch)
        if status == 200:
            self.throttle.succeeded(*keys)
        elif 400 <= status < 500:
            self.throttle.failed(*keys)

    def _user_errors_as_4xx(self, send: Send) -> Send:
        """Gradio answers 500 to every error on /run and /api; a gr.Error for a refused input becomes 4xx."""
        held: dict | None = None
        chunks: list[bytes] = []

        async def send_status(message):
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 500:
                held = message
                return
            if held is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            try:
                payload = json.loads(body)
                status = self.error_status.get(payload.get("title"), 500) if isinstance(payload.get("error"), str) \
                    else 500
            except (ValueError, AttributeError):
                status = 500
            await send({**held, "status": status})
            await send({"type": "http.response.body", "body": body})

        return send_status


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _replay(body: bytes, receive: Receive | None) -> Receive:
    """A receive() that hands over the body once, then waits on the real connection (for a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if receive is None:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


async def _too_large(scope: Scope, receive: Receive, send: Send, cap: int) -> None:
    await JSONResponse({"error": f"The request body is larger than {cap // KIB} KiB.",
                        "hint": "Send a shorter question or history."}, 413,
                       headers={"Connection": "close"})(scope, receive, send)
