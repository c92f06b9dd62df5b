"""The question log: what readers asked and how it went, plus their 👍/👎, on SQLite or PostgreSQL.

    log = QuestionLog.from_settings(settings)
    answer_id = log.record(answer, channel="api", latency_s=0.03, page=None, client="10.0.0.7")
    log.add_feedback(answer_id, +1, "clear", channel="api")   # raises LogUnavailable when the DB is down

record() never fails and never waits: rows go to a background writer (writer.py) that retries and then
drops them, counting what it dropped. Privacy (Settings): log_question_text=0 keeps outcomes but not the
words; log_retention_days deletes old rows; clients are stored as a salted hash, never as an address.
"""
from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import datetime, timezone
from typing import Callable

from glossarian.config import Settings
from glossarian.errors import GlossarianError, InputError
from glossarian.questionlog.store import Store, database_url, redact
from glossarian.questionlog.writer import Writer

log = logging.getLogger("glossarian.questionlog")

CHANNELS = ("chat", "widget", "api", "cli")
OUTCOMES = ("answered", "abstained", "missing_term", "tool")
ANSWER_ID_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_COMMENT_CHARS = 2000
MAX_PAGE_CHARS = 500


class LogUnavailable(GlossarianError):
    """The question-log database cannot be reached (feedback needs it synchronously)."""


def outcome_of(answer) -> str:
    """One outcome per answer, for the log and the metrics; a tool run wins over everything else."""
    if answer.tool_calls:
        return "tool"
    if getattr(answer, "missing_term", None):
        return "missing_term"
    if answer.abstained or not answer.sources:
        return "abstained"
    return "answered"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class QuestionLog:
    def __init__(self, store: Store, keep_text: bool = True, retention_days: int = 0):
        self.store = store
        self.keep_text = keep_text
        self.retention_days = retention_days
        self.writer = Writer(store, retention_days)
        self.listeners: list[Callable[[dict], None]] = []  # e.g. the /metrics counters; called on record()

    @classmethod
    def from_settings(cls, settings: Settings) -> "QuestionLog":
        return cls(Store(database_url(settings)), bool(settings.log_question_text), settings.log_retention_days)

    @property
    def where(self) -> str:
        return redact(self.store.url)

    def _client_key(self, client: str | None) -> str | None:
        if not client:
            return None
        try:
            salt = self.store.salt()
        except Exception:  # no database right now: better no key than a request that waits
            return None
        return hashlib.sha256(f"{salt}:{client}".encode()).hexdigest()[:16]

    def record(self, answer, channel: str, latency_s: float, page: str | None = None,
               client: str | None = None, answer_id: str | None = None) -> str:
        """Queue one answered question; returns its answer_id at once. Never raises."""
        answer_id = answer_id or uuid.uuid4().hex
        try:
            sources = [h.entry.id for h in answer.sources]
            row = {
                "answer_id": answer_id, "asked_at": utcnow(), "channel": channel if channel in CHANNELS else "api",
                "page": (page or None) and page[:MAX_PAGE_CHARS], "language": answer.language,
                "intent": _short(getattr(answer, "intent", None), 32),
                "question": answer.question if self.keep_text else None,
                "sources": sources, "top_entry": sources[0] if sources else None,
                "abstained": bool(answer.abstained or not answer.sources),
                "missing_term": _short(getattr(answer, "missing_term", None), 200),
                "tools": [t.name for t in answer.tool_calls], "outcome": outcome_of(answer),
                "latency_ms": round(latency_s * 1000, 1), "client": None,
            }
            for listener in self.listeners:
                listener(row)
            self.writer.put(row, client, self._client_key)
        except Exception:  # the log must never break the answer it describes
            log.exception("Could not queue a question-log row")
        return answer_id

    def add_feedback(self, answer_id: str, rating: int, comment: str | None = None, channel: str = "api") -> None:
        """Store one 👍 (+1) or 👎 (-1), synchronously; LogUnavailable when the database is down."""
        if not isinstance(answer_id, str) or not ANSWER_ID_RE.match(answer_id):
            raise InputError("answer_id is not one this server gave out.",
                             "Send the answer_id from the /api/ask answer (32 hex characters).")
        if rating not in (1, -1):
            raise InputError("rating must be 1 (👍) or -1 (👎).", 'Send e.g. {"answer_id": "...", "rating": -1}.')
        comment = (comment or "").strip()[:MAX_COMMENT_CHARS] or None
        try:
            self.store.insert_feedback({"answer_id": answer_id, "created_at": utcnow(), "rating": rating,
                                        "comment": comment if self.keep_text else None,
                                        "channel": channel if channel in CHANNELS else "api"})
        except Exception as exc:
            log.error("Feedback not stored, the question log at %s is unreachable: %s", self.where,
                      str(exc).splitlines()[0][:200])
            raise LogUnavailable("Feedback cannot be saved right now: the feedback database is unreachable.",
                                 "Try again in a minute; the server's log says which database it tried.") from None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row is written or dropped; True if the queue emptied in time."""
        return self.writer.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self.writer.close(timeout)
        self.store.engine.dispose()


def _short(value, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]
