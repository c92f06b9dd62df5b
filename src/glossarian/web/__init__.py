"""The web layer: one FastAPI app, a thin shell over one long-lived Assistant.

    /            the Gradio chat (streaming answers, sources, tool blocks with figures)
    /widget      a compact chat for an iframe on a wiki page
    /embed.js    one <script> tag on a wiki page adds a button that opens /widget in a panel
    /gradio.js   the <gradio-app> web component's loader, served from the gradio package (no CDN)
    /api/ask     POST {"question", "history"?} -> Answer.to_json()
    /api/terms   the glossary's names and first sentences for the widget's term highlighter (terms.py)
    /api/ask     POST {"question", "history"?, "page"?, "channel"?} -> Answer.to_json() + answer_id
    /api/feedback POST {"answer_id", "rating": 1|-1, "comment"?} (web/feedback.py)
    /admin       the gap report, a plot and CSV export for maintainers (web/admin.py)
    /metrics     Prometheus metrics (web/metrics.py)
    /healthz     readiness: loading | building-index | ready | degraded (503 until it can answer)
    /livez       liveness: 200 whenever the process serves HTTP

create_app() builds the app and never serves; serve() runs it with uvicorn. Importing gradio is deferred
to create_app() so `import glossarian.web` stays cheap.

Deployment settings (GLOSSARIAN_*; see guard.py and gate.py for the policy, README "Security"):
    ALLOWED_ORIGINS=https://wiki.example.com   the wiki that embeds the widget or calls the API from the
                                                browser; unset = same origin only, so embedding needs it
    ROOT_PATH=/glossary                         served behind a proxy at https://host/glossary/ (the proxy
                                                may strip the prefix or pass it on)
    TRUSTED_PROXIES=127.0.0.1                   the proxy whose X-Forwarded-For names the reader; unset = none
    ALLOWED_HOSTS=glossary.example.com          the Host names to answer to; unset = any
    API_TOKEN=...   UI_AUTH=user:password   RATE_LIMIT=60   MAX_QUESTION_CHARS=2000
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

from glossarian.config import Settings

log = logging.getLogger("glossarian.web")

# Answers are short CPU work that takes turns on the embedder's lock; a few chats in flight keep every
# stream moving (Gradio's default of 1 would make each reader wait for everyone ahead of them).
CONCURRENT_CHATS = 4
# uvicorn's supervisor restarts a worker that does not answer its ping in time (default 5 s). Loading torch and
# the model holds the GIL for long stretches on a busy machine, so 5 s would restart healthy workers forever.
WORKER_PING_S = 60


class HeadAsGet:
    """HEAD wherever GET works (uptime checkers, proxies and link checkers use HEAD): the request runs as a
    GET and only the status line and headers go back. FastAPI routes (ours and Gradio's) answer GET only."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)
        sent_end = False

        async def send_headers_only(message):
            nonlocal sent_end
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body" and not sent_end:
                sent_end = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


_PRIVATE_CACHE: Path | None = None


def private_gradio_cache() -> Path:
    """This process's own Gradio cache (mode 0700, removed at exit), which also holds the tool figures.

    A shared /tmp/gradio let one instance serve another's files and kept everything forever (probe
    findings 8 and 9). GRADIO_TEMP_DIR, when set, names the parent folder.
    """
    global _PRIVATE_CACHE
    if _PRIVATE_CACHE is None:
        parent = os.environ.get("GRADIO_TEMP_DIR") or None
        if parent:
            Path(parent).mkdir(parents=True, exist_ok=True)
        _PRIVATE_CACHE = Path(tempfile.mkdtemp(prefix="glossarian-gradio-", dir=parent))  # mkdtemp: 0700
        os.environ["GRADIO_TEMP_DIR"] = str(_PRIVATE_CACHE)  # read by Gradio whenever it stores a file
        atexit.register(shutil.rmtree, _PRIVATE_CACHE, True)
    return _PRIVATE_CACHE


def _log_to_stderr() -> None:
    """Our own INFO lines (warm-up, index reloads) next to uvicorn's; other libraries stay quiet."""
    logger = logging.getLogger("glossarian")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class UnderPrefix:
    """Serve under a reverse-proxy subpath whether or not the proxy strips it (as `uvicorn --root-path` does).

    Paths get the prefix back and scope["root_path"] names it, so routing ignores it and every URL the app
    builds (Gradio's config, its assets) carries it.
    """

    def __init__(self, app, prefix: str):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                raw = scope.get("raw_path") or path.encode()
                scope = {**scope, "path": self.prefix + path, "raw_path": self.prefix.encode() + raw}
            scope = {**scope, "root_path": self.prefix}
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, assistant=None, question_log=None):
    """Build the FastAPI app (chat, widget, API, embed scripts) around `assistant`; does not serve it."""
    cache = private_gradio_cache()  # before Gradio builds anything: Blocks read the cache folder once

    import gradio as gr
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.concurrency import run_in_threadpool

    from glossarian.web.api import api_router
    from glossarian.web.chat import CHAT_HEAD, CSS, ERROR_STATUS, WIDGET_CSS, ChatService, build_chat
    from glossarian.web.gate import Gate, GradioSessions
    from glossarian.web.guard import (LoginThrottle, SecurityHeaders, limiter_for, parse_hosts, parse_origins,
                                      parse_ui_auth)
    from glossarian.web.readiness import Readiness
    from glossarian.web.render import FigureStore
    from glossarian.web.terms import terms_router

    settings = settings or Settings.from_env()
    if assistant is None:
        from glossarian.assistant import Assistant

        assistant = Assistant(settings)
    origins = parse_origins(settings.allowed_origins)
    hosts = parse_hosts(settings.allowed_hosts)
    auth = parse_ui_auth(settings.ui_auth)
    root = settings.root_path.rstrip("/")
    limiter = limiter_for(settings)
    figures = FigureStore(Path(tempfile.mkdtemp(prefix="figures-", dir=cache)), ttl=settings.figure_ttl)
    atexit.register(shutil.rmtree, figures.folder, True)  # also when the app is built but never served
    sessions = GradioSessions()

    readiness = Readiness(assistant)
    from glossarian.questionlog import QuestionLog
    from glossarian.web.admin import admin_router
    from glossarian.web.feedback import feedback_router
    from glossarian.web.metrics import Metrics, MetricsMiddleware

    question_log = question_log or QuestionLog.from_settings(settings)
    metrics = Metrics(assistant, question_log, root)
    question_log.listeners.append(metrics.on_answer)

    @asynccontextmanager
    async def lifespan(app):
        readiness.start()  # the port is open at once; /healthz says when the first answer can be quick
        yield
        shutil.rmtree(figures.folder, ignore_errors=True)  # Gradio keeps its own copies while it runs
        await run_in_threadpool(question_log.flush, 5.0)  # queued log rows reach the database before exit

    app = FastAPI(title="Glossarian", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.assistant = assistant
    app.state.readiness = readiness
    app.state.question_log = question_log
    for router in (terms_router(settings), feedback_router(question_log, settings, limiter),
                   admin_router(question_log, settings, assistant), metrics.router(),
                   api_router(assistant, settings, limiter, readiness)):  # api's /api/* catch-all last
        app.include_router(router)
    # Outermost last: prefix -> Host check -> headers -> CORS -> gate -> routes. The gate sits inside CORS
    # so its refusals still carry the CORS headers a browser needs to read them.
    app.add_middleware(Gate, settings=settings, sessions=sessions, throttle=LoginThrottle(settings.login_attempts),
                       error_status=ERROR_STATUS, ui_auth=auth is not None)
    # One CORS policy for everything, Gradio's routes included (a parent CORSMiddleware turns Gradio's off).
    # Credentials are allowed because the Gradio client fetches with credentials: "include".
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                       allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"], max_age=600)
    app.add_middleware(SecurityHeaders, origins=origins)
    if hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    if root:
        app.add_middleware(UnderPrefix, prefix=root)
    app.add_middleware(HeadAsGet)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    service = ChatService(assistant, limiter, figures, settings, readiness)
    service.question_log = question_log
    # show_error=False: gr.Error messages still reach the reader, other exceptions only the server log.
    common = dict(auth=auth, footer_links=[], max_file_size="1mb", ssr_mode=False, run_history=False,
                  show_error=False)
    # Order matters: "/" catches every path, so the widget is mounted first.
    for path, compact in (("/widget", True), ("/", False)):
        # delete_cache: Gradio removes the files it keeps for this chat (figures included) once they are older
        # than the figures' lifetime, checking as often.
        blocks = build_chat(service, compact=compact, delete_cache=(settings.figure_ttl, settings.figure_ttl))
        blocks.queue(default_concurrency_limit=CONCURRENT_CHATS)
        public = (root + path.rstrip("/")) if root else None
        gr.mount_gradio_app(app, blocks, path=path, root_path=public, css=WIDGET_CSS if compact else CSS,
                            head=CHAT_HEAD, **common)
    sessions.apps = [route.app for route in app.routes if hasattr(getattr(route, "app", None), "tokens")]
    return app


def trusted_proxies(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]


def server_config(settings: Settings, app):
    """uvicorn's configuration for one process (see uvicorn_options)."""
    import uvicorn

    return uvicorn.Config(app, **uvicorn_options(settings))


def uvicorn_options(settings: Settings) -> dict:
    """The options every way of serving shares (one process or `--workers N`), with every security-relevant choice
    made here rather than left to defaults.

    Proxy trust: uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, which is exactly where a
    same-host proxy (or anyone on the host) connects from; here only GLOSSARIAN_TRUSTED_PROXIES is trusted.
    """
    from glossarian.web.one_write import OneWriteH11Protocol

    trusted = trusted_proxies(settings)
    return dict(host=settings.host, port=settings.port, log_level="info",
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted or [],
                server_header=False,  # no "server: uvicorn" on every response
                timeout_keep_alive=5, http=OneWriteH11Protocol)


def redact_logs(settings: Settings) -> None:
    """Keep the API token, the LLM key and the UI password out of every log line we or uvicorn write."""
    from glossarian.web.guard import RedactSecrets

    secrets = [settings.api_token, settings.llm_api_key, settings.ui_auth.partition(":")[2]]
    redactor = RedactSecrets(secrets)
    for name in ("", "glossarian", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(redactor)


def app_from_env():
    """uvicorn's factory for worker processes (`--workers N`): each builds its own app from GLOSSARIAN_*."""
    _log_to_stderr()
    settings = Settings.from_env()
    redact_logs(settings)
    return create_app(settings)


def serve(settings: Settings | None = None, app=None) -> None:
    """Run the app (built from settings unless given) with uvicorn on settings.host:port until interrupted.

    With settings.workers > 1 uvicorn starts that many processes on the one port; each loads the model and the
    index once (memory per worker: /healthz rss_mb), and they share nothing else, so set GLOSSARIAN_REDIS_URL
    for a rate limit that counts across them.
    """
    import os

    import uvicorn

    settings = settings or Settings.from_env()
    _log_to_stderr()
    print(f"Glossarian: http://{settings.host}:{settings.port}{settings.root_path.rstrip('/')}/ "
          "(chat), /widget, /embed.js, /api/ask, /healthz (ready?), /livez; loading the model now…", flush=True)
    if settings.workers > 1 and app is None:
        # Worker processes rebuild their settings from the environment: hand them ours.
        for name in ("corpus", "index", "embed_model", "host", "port", "workers", "threads"):
            os.environ[f"GLOSSARIAN_{name.upper()}"] = str(getattr(settings, name))
        uvicorn.run("glossarian.web:app_from_env", factory=True, workers=settings.workers,
                    timeout_graceful_shutdown=10, timeout_worker_healthcheck=WORKER_PING_S, **uvicorn_options(settings))
        return
    app = app or create_app(settings)
    config = server_config(settings, app)  # configures uvicorn's loggers, so the redaction comes after
    redact_logs(settings)
    uvicorn.Server(config).run()
