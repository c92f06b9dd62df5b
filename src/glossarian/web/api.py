"""The JSON API and the static routes: POST /api/ask, GET /healthz, /embed.js and /gradio.js.

Every refusal is a small JSON object {"error": what went wrong, "hint": how to fix it}, never a traceback.
"""
from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError
from starlette.concurrency import run_in_threadpool

from glossarian.errors import GlossarianError, InputError
from glossarian.web.guard import RateLimiter, token_ok

log = logging.getLogger("glossarian.web")

MAX_BODY_BYTES = 1 << 20  # far above any valid question plus history; stops memory abuse early
MAX_HISTORY_TURNS = 100
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


def error(status: int, message: str, hint: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint}, status_code=status, headers=headers)


def client_key(request: Request) -> str:
    # uvicorn already replaced the address with X-Forwarded-For when the proxy is trusted (--forwarded-allow-ips)
    return request.client.host if request.client else "unknown"


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


def api_router(assistant, settings, limiter: RateLimiter) -> APIRouter:
    from glossarian.assistant import Turn

    router = APIRouter()
    example = '{"question": "什么是 backbone？", "history": [{"role": "user", "content": "..."}]}'

    @router.post("/api/ask")
    async def ask(request: Request):
        wait = limiter.hit(client_key(request))
        if wait:
            return error(429, *limiter.message(wait), headers={"Retry-After": str(int(wait))})
        if not token_ok(request.headers.get("authorization"), settings.api_token):
            return error(401, "Missing or wrong API token.", "Send the header 'Authorization: Bearer <token>'.",
                         headers={"WWW-Authenticate": "Bearer"})
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
        if len(history) > MAX_HISTORY_TURNS:
            return error(422, f"history has {len(history)} turns; at most {MAX_HISTORY_TURNS} are accepted.",
                         "Send only the last few turns of the conversation.")
        turns = [Turn.from_dict(t.model_dump()) for t in history]
        try:
            answer = await run_in_threadpool(assistant.ask, req.question, turns)
        except InputError as exc:
            return error(400, exc.message, exc.hint)
        except GlossarianError as exc:  # index or model trouble: the server's problem, and it says how to fix it
            log.error("Could not answer: %s", exc)
            return error(503, exc.message, exc.hint)
        except Exception:
            log.exception("Unexpected error while answering %r", req.question[:200])
            return error(500, "Internal error while answering; it was logged on the server.", None)
        return JSONResponse(answer.to_json())

    @router.get("/widget", include_in_schema=False)
    async def widget_slash():
        return RedirectResponse("widget/", status_code=307)  # relative, so a proxy prefix survives

    @router.get("/healthz")
    async def healthz():
        info = await run_in_threadpool(assistant.health)
        return JSONResponse(info, status_code=503 if "error" in info else 200)

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
        if rest == "ask":
            return error(405, f"{request.method} is not allowed on /api/ask.", f"POST JSON, e.g. {example}",
                         headers={"Allow": "POST"})
        return error(404, f"No API endpoint /api/{rest}.", "The API has one endpoint: POST /api/ask.")

    return router
