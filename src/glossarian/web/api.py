"""The JSON API and the static routes: POST /api/ask, GET /healthz, /embed.js and /gradio.js.

Every refusal is a small JSON object {"error": what went wrong, "hint": how to fix it}, never a traceback.
The `answer` of /api/ask is Markdown that can come from an LLM: a page that shows it must treat it as
untrusted (render without HTML, images or non-http links, as web/render.py does).
"""
from __future__ import annotations

import json
import logging
import re
import time
from importlib import resources
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError
from starlette.concurrency import run_in_threadpool

from glossarian.errors import GlossarianError, InputError
from glossarian.history import HistoryTooLarge
from glossarian.web.guard import RateLimiter, token_ok

log = logging.getLogger("glossarian.web")

MAX_BODY_BYTES = 1 << 20  # far above any valid question plus history; stops memory abuse early
# Any absolute path left in a health message after the known folders were named (anonymous callers see it).
ABS_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)*[\w@+-]+(?:\.[\w-]+)*")
STATIC = resources.files("glossarian") / "static"
JS = "text/javascript; charset=utf-8"


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: StrictStr
    # Optional, for assistant turns: echo back what /api/ask returned (sources, intent, the tool call), so a
    # follow-up is resolved from data instead of from the answer's text.
    sources: list[StrictStr | dict] | None = None
    intent: StrictStr | None = None
    tool: dict | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr
    history: list[HistoryTurn] | None = None
    page: StrictStr | None = None  # the wiki page the widget asks from (question log)
    channel: Literal["api", "widget"] | None = None


def error(status: int, message: str, hint: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint}, status_code=status, headers=headers)


def client_key(request: Request) -> str:
    # uvicorn already replaced the address with X-Forwarded-For when the proxy is trusted (--forwarded-allow-ips)
    return request.client.host if request.client else "unknown"


def public_health(info: dict, settings) -> dict:
    """Health without the server's folders, for callers who did not show the API token."""
    named = [(str(settings.index), "<index>"), (str(settings.corpus), "<corpus>"), (str(settings.home), "<home>")]

    def scrub(text: str) -> str:
        for path, name in sorted(named, key=lambda p: -len(p[0])):
            text = text.replace(path, name)
        return ABS_PATH.sub("<path>", text)

    return {k: scrub(v) if isinstance(v, str) and k != "model" else v for k, v in info.items() if k != "index"}


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".") or "body"
    if first["type"] == "missing":
        return f"Missing field '{where}'."
    if first["type"] == "extra_forbidden":
        return f"Unknown field '{where}'."
    return f"{where}: {first['msg']}."


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY_BYTES (checked while reading, not after)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def api_router(assistant, settings, limiter: RateLimiter, readiness) -> APIRouter:
    from glossarian.assistant import Turn
    from glossarian.lang import detect_language
    from glossarian.web.readiness import RETRY_AFTER_S

    router = APIRouter()
    example = '{"question": "什么是 backbone？", "history": [{"role": "user", "content": "..."}]}'

    @router.post("/api/ask")
    async def ask(request: Request):
        client = client_key(request)
        # The token first: requests without it must not use up the budget of the client that has it. Wrong
        # tokens count in a bucket of their own, so guessing stays throttled.
        if not token_ok(request.headers.get("authorization"), settings.api_token):
            wait = limiter.hit("bad-token " + client)
            if wait:
                return error(429, *limiter.message(wait), headers={"Retry-After": str(int(wait))})
            return error(401, "Missing or wrong API token.", "Send the header 'Authorization: Bearer <token>'.",
                         headers={"WWW-Authenticate": "Bearer"})
        wait = limiter.hit(client)
        if wait:
            return error(429, *limiter.message(wait), headers={"Retry-After": str(int(wait))})
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":  # a cross-site "simple" POST (text/plain, forms) runs unpreflighted
            return error(415, f"The body must be sent as application/json, not {media_type or 'untyped'}.",
                         f"Send the header 'Content-Type: application/json' and e.g. {example}")
        body = await _read_body(request)
        if body is None:
            return error(413, f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.",
                         f"Questions are limited to {settings.max_question_chars} characters.")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            return error(400, "The request body is not valid JSON.", f"Send e.g. {example}")
        if not isinstance(payload, dict):
            return error(422, f"The body must be a JSON object, not {type(payload).__name__}.", f"Send e.g. {example}")
        try:
            req = AskRequest.model_validate(payload)
        except ValidationError as exc:
            return error(422, _describe(exc), f"Send e.g. {example}")
        if len(req.question) > settings.max_question_chars:
            return error(413, f"The question is {len(req.question)} characters long; "
                              f"the limit is {settings.max_question_chars}.",
                         "Ask about one or two terms at a time.")
        history = req.history or []
        turns = [Turn.from_dict(t.model_dump()) for t in history]
        if not readiness.ready:
            # A short grace period covers the last moments of start-up; beyond it, say so instead of a silent wait.
            if not await run_in_threadpool(readiness.wait, 2.0):
                message, hint = readiness.waiting_message(detect_language(req.question))
                return error(503, message, hint, headers={"Retry-After": str(RETRY_AFTER_S)})
        started = time.perf_counter()
        try:
            answer = await run_in_threadpool(assistant.ask, req.question, turns)
        except HistoryTooLarge as exc:
            return error(exc.status, exc.message, exc.hint)
        except InputError as exc:
            return error(400, exc.message, exc.hint)
        except GlossarianError as exc:  # index or model trouble: the server's problem, and it says how to fix it
            log.error("Could not answer: %s", exc)
            return error(503, exc.message, exc.hint)
        except Exception:
            log.exception("Unexpected error while answering %r", req.question[:200])
            return error(500, "Internal error while answering; it was logged on the server.", None)
        # `question` is echoed exactly as received (the answer works on a normalised copy).
        from glossarian.web.feedback import record_answer

        answer_id = record_answer(getattr(request.app.state, "question_log", None), answer, req.channel or "api",
                                  started, req.page, client_key(request))
        return JSONResponse({**answer.to_json(), "question": req.question, "answer_id": answer_id})

    @router.get("/widget", include_in_schema=False)
    async def widget_slash():
        return RedirectResponse("widget/", status_code=307)  # relative, so a proxy prefix survives

    @router.get("/healthz")
    async def healthz(request: Request):
        """Readiness, for load balancers and the README's run check: 503 until a question can be answered."""
        status, body = await run_in_threadpool(readiness.report)
        if not (settings.api_token and token_ok(request.headers.get("authorization"), settings.api_token)):
            body = public_health(body, settings)  # folder names are for the admin, who has the token
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @router.get("/livez")
    async def livez():
        """Liveness, for orchestrators that restart a hung process: 200 whenever the server answers HTTP."""
        return JSONResponse({"status": "alive"})

    @router.get("/embed.js", include_in_schema=False)
    async def embed_js():
        return FileResponse(str(STATIC / "embed.js"), media_type=JS,
                            headers={"Cache-Control": "public, max-age=300"})

    @router.get("/gradio.js", include_in_schema=False)
    async def gradio_js():
        import gradio

        # The <gradio-app> web component's loader; it imports ./assets/* from this server, not from a CDN.
        path = Path(gradio.__file__).parent / "templates" / "frontend" / "gradio.js"
        return FileResponse(path, media_type=JS, headers={"Cache-Control": "public, max-age=300",
                                                          "Access-Control-Allow-Origin": "*"})

    # Without this, anything else under /api/ would fall through to the Gradio app mounted at "/".
    @router.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
                      include_in_schema=False)
    async def api_other(rest: str, request: Request):
        if rest in ("ask", "feedback"):
            return error(405, f"{request.method} is not allowed on /api/{rest}.", "POST JSON"
                         + (f", e.g. {example}" if rest == "ask" else " (see the README)."), headers={"Allow": "POST"})
        return error(404, f"No API endpoint /api/{rest}.", "The API has POST /api/ask and POST /api/feedback.")

    return router
