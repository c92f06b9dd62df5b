"""The web layer: one FastAPI app, a thin shell over one long-lived Assistant.

    /            the Gradio chat (streaming answers, sources, tool blocks with figures)
    /widget      a compact chat for an iframe on a wiki page
    /embed.js    one <script> tag on a wiki page adds a button that opens /widget in a panel
    /gradio.js   the <gradio-app> web component's loader, served from the gradio package (no CDN)
    /api/ask     POST {"question", "history"?} -> Answer.to_json()
    /healthz     readiness: loading | building-index | ready | degraded (503 until it can answer)
    /livez       liveness: 200 whenever the process serves HTTP

create_app() builds the app and never serves; serve() runs it with uvicorn. Importing gradio is deferred
to create_app() so `import glossarian.web` stays cheap.

Deployment settings (GLOSSARIAN_*; see guard.py for the policy):
    ALLOWED_ORIGINS=https://wiki.example.com   the wiki that embeds the widget or calls the API from the
                                                browser; unset = same origin only, so embedding needs it
    ROOT_PATH=/glossary                         served behind a proxy at https://host/glossary/ (the proxy
                                                may strip the prefix or pass it on)
    API_TOKEN=...   UI_AUTH=user:password   RATE_LIMIT=60   MAX_QUESTION_CHARS=2000
"""
from __future__ import annotations

import atexit
import logging
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


def create_app(settings: Settings | None = None, assistant=None):
    """Build the FastAPI app (chat, widget, API, embed scripts) around `assistant`; does not serve it."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    from glossarian.web.api import api_router
    from glossarian.web.chat import CSS, WIDGET_CSS, ChatService, build_chat
    from glossarian.web.guard import SecurityHeaders, limiter_for, parse_origins, parse_ui_auth
    from glossarian.web.readiness import Readiness
    from glossarian.web.render import FigureStore

    settings = settings or Settings.from_env()
    if assistant is None:
        from glossarian.assistant import Assistant

        assistant = Assistant(settings)
    origins = parse_origins(settings.allowed_origins)
    auth = parse_ui_auth(settings.ui_auth)
    root = settings.root_path.rstrip("/")
    limiter = limiter_for(settings)
    figures = FigureStore(Path(tempfile.mkdtemp(prefix="glossarian-figures-")))
    atexit.register(shutil.rmtree, figures.folder, True)  # also when the app is built but never served

    readiness = Readiness(assistant)

    @asynccontextmanager
    async def lifespan(app):
        readiness.start()  # the port is open at once; /healthz says when the first answer can be quick
        yield
        shutil.rmtree(figures.folder, ignore_errors=True)  # Gradio keeps its own copies while it runs

    app = FastAPI(title="Glossarian", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.assistant = assistant
    app.state.readiness = readiness
    app.include_router(api_router(assistant, settings, limiter, readiness))
    # One CORS policy for everything, Gradio's routes included (a parent CORSMiddleware turns Gradio's off).
    # Credentials are allowed because the Gradio client fetches with credentials: "include".
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                       allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"], max_age=600)
    app.add_middleware(SecurityHeaders, origins=origins)
    if root:
        app.add_middleware(UnderPrefix, prefix=root)
    app.add_middleware(HeadAsGet)

    service = ChatService(assistant, limiter, figures, settings.max_question_chars, readiness)
    # show_error=False: gr.Error messages still reach the reader, other exceptions only the server log.
    common = dict(auth=auth, footer_links=[], allowed_paths=[str(figures.folder)], max_file_size="1mb",
                  ssr_mode=False, run_history=False, show_error=False)
    # Order matters: "/" catches every path, so the widget is mounted first.
    for path, compact in (("/widget", True), ("/", False)):
        blocks = build_chat(service, compact=compact).queue(default_concurrency_limit=CONCURRENT_CHATS)
        public = (root + path.rstrip("/")) if root else None
        gr.mount_gradio_app(app, blocks, path=path, root_path=public, css=WIDGET_CSS if compact else CSS, **common)
    return app


def app_from_env():
    """uvicorn's factory for worker processes (`--workers N`): each builds its own app from GLOSSARIAN_*."""
    _log_to_stderr()
    return create_app(Settings.from_env())


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
        uvicorn.run("glossarian.web:app_from_env", factory=True, host=settings.host, port=settings.port,
                    workers=settings.workers, log_level="info", timeout_graceful_shutdown=10,
                    timeout_worker_healthcheck=WORKER_PING_S)
        return
    app = app or create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
