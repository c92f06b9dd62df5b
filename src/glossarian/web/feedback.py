"""Logging answers and taking 👍/👎: POST /api/feedback, the chat's like buttons, and record_answer() that
/api/ask and the chat call after each answer (the question log never slows or fails them).

    POST /api/feedback {"answer_id": "<from /api/ask>", "rating": 1 | -1, "comment"?: "..."}
        -> 201 {"ok": true} · 400/422 bad request · 503 when the feedback database is unreachable
"""
from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError
from starlette.concurrency import run_in_threadpool

from glossarian.errors import InputError

log = logging.getLogger("glossarian.web")

# Extra reasons next to 👍/👎 in the chat; each is stored as a 👎 with the reason as its comment.
CHAT_FEEDBACK = ("Like", "Dislike", "Inaccurate", "Not what I asked")
EXAMPLE = '{"answer_id": "3f2a…", "rating": -1, "comment": "the example is wrong"}'


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_id: StrictStr
    rating: StrictInt
    comment: StrictStr | None = None
    channel: StrictStr | None = None


def record_answer(question_log, answer, channel: str, started: float, page: str | None = None,
                  client: str | None = None) -> str | None:
    """Queue the answer in the question log; its answer_id (None when there is no log)."""
    if question_log is None or answer is None:
        return None
    return question_log.record(answer, channel, time.perf_counter() - started, page, client)


def page_from_referer(referer: str | None) -> str | None:
    """The wiki page the widget frame was opened for, when embed.js put it in the frame's URL (/widget/?from=...).

    Not ?page=: Gradio reads that parameter itself (multipage apps) and fails on any other value."""
    if not referer:
        return None
    values = parse_qs(urlsplit(referer).query).get("from")
    return values[0] if values else None


def feedback_router(question_log, settings, limiter) -> APIRouter:
    from glossarian.questionlog import LogUnavailable
    from glossarian.web.api import MAX_BODY_BYTES, _describe, _read_body, client_key, error
    from glossarian.web.guard import token_ok

    router = APIRouter()

    @router.post("/api/feedback")
    async def post_feedback(request: Request):
        wait = limiter.hit(client_key(request))
        if wait:
            return error(429, *limiter.message(wait), headers={"Retry-After": str(int(wait))})
        if not token_ok(request.headers.get("authorization"), settings.api_token):
            return error(401, "Missing or wrong API token.", "Send the header 'Authorization: Bearer <token>'.",
                         headers={"WWW-Authenticate": "Bearer"})
        body = await _read_body(request)
        if body is None:
            return error(413, f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.",
                         "Keep comments short.")
        try:
            req = FeedbackRequest.model_validate(json.loads(body))
        except (ValueError, RecursionError) as exc:
            message = _describe(exc) if isinstance(exc, ValidationError) else "The request body is not valid JSON."
            return error(422 if isinstance(exc, ValidationError) else 400, message, f"Send e.g. {EXAMPLE}")
        channel = req.channel if req.channel in ("api", "widget") else "api"
        try:
            await run_in_threadpool(question_log.add_feedback, req.answer_id, req.rating, req.comment, channel)
        except InputError as exc:
            return error(422, exc.message, exc.hint)
        except LogUnavailable as exc:
            return error(503, exc.message, exc.hint, headers={"Retry-After": "60"})
        return _created()

    return router


def _created():
    from fastapi.responses import JSONResponse

    return JSONResponse({"ok": True}, status_code=201)


def like_handler(service):
    """The chat's 👍/👎 listener: finds the answer the clicked message belongs to in the conversation state."""
    import gradio as gr

    def on_like(turns: list, evt: gr.LikeData):
        question_log = getattr(service, "question_log", None)
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        answer_id = next((t.get("answer_id") for t in turns if t.get("role") == "assistant"
                          and t.get("messages", (0, 0))[0] <= index < t.get("messages", (0, 0))[1]), None)
        if question_log is None or not answer_id:
            return
        liked = evt.liked
        if liked is None or liked == "":  # a vote taken back: nothing to store
            return
        rating = 1 if liked is True or liked == "Like" else -1
        comment = liked if isinstance(liked, str) and liked not in ("Like", "Dislike") else None
        try:
            question_log.add_feedback(answer_id, rating, comment, service.channel)
        except Exception as exc:  # LogUnavailable: tell the reader, never break the chat
            gr.Warning(getattr(exc, "message", "Feedback could not be saved right now."))
            return
        gr.Info("谢谢反馈 · Thanks for the feedback")

    # Gradio passes the LikeData by the parameter's type; this module's annotations are strings (__future__).
    on_like.__annotations__ = {"turns": list, "evt": gr.LikeData}
    return on_like
