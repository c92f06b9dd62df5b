"""The Assistant: one plain object that owns the model, the index and the answer engine.

The CLI and the web app are thin shells over it. It loads lazily, builds the index on first use
when none exists, and switches to a newer index as soon as `glossarian index build` swaps one in,
keeping the last good index when a new one cannot be loaded.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from glossarian.answer import Answer
from glossarian.config import Settings
from glossarian.errors import IndexInvalid, IndexNotFound, InputError
from glossarian.lang import detect_language, normalize

if TYPE_CHECKING:
    from glossarian.corpus import Entry

log = logging.getLogger("glossarian")


@dataclass
class Turn:
    role: str  # "user" or "assistant"
    content: str


def validate_question(question, max_chars: int) -> str:
    if not isinstance(question, str):
        raise InputError(f"The question must be text, not {type(question).__name__}.",
                         'Send {"question": "..."} with a string.')
    if "\x00" in question or sum(1 for c in question if not (c.isprintable() or c.isspace())) > len(question) * 0.3:
        raise InputError("The question is not readable text (binary or control characters).",
                         "Type the question in plain Chinese or English.")
    if len(question) > max_chars:
        raise InputError(f"The question is {len(question)} characters long; the limit is {max_chars}.",
                         "Ask about one or two terms at a time.")
    cleaned = normalize(question)
    if not cleaned:
        raise InputError("The question is empty.", "Type a question, e.g. 'What is a backbone?' or '什么是 GAP？'")
    return cleaned


ANAPHORA = re.compile(r"它|它们|这个|那个|其|\b(it|its|this|that|they|them|former|latter)\b", re.I)


def resolve_followup(question: str, history: list[Turn], matcher, entries) -> "Entry | None":
    """The previous subject, when the question leans on it ("那它和 neck 有什么区别?", "why is it pretrained?").

    The subject is the first term the last answer was about (its heading names it first), or else the first
    term of the last question.
    """
    if not history:
        return None
    named_now = matcher.find(question) + matcher.fuzzy(question)
    short = len(question) <= 12 or len(question.split()) <= 4
    if not ANAPHORA.search(question) and (named_now or not short):
        return None
    for turn in reversed(history[-6:]):
        text = turn.content.strip().split("\n", 1)[0] if turn.role == "assistant" else turn.content
        found = [i for i in matcher.find(text) if i not in named_now]
        if found:
            return entries[found[0]]
    return None


class Assistant:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self._lock = threading.RLock()
        self._embedder = None
        self._retriever = None
        self._loaded_target: str | None = None
        self.last_reload_error: str | None = None
        self._llm_backend = None

    # -- loading -----------------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from glossarian.embedding import get_embedder

            with self._lock:
                if self._embedder is None:
                    self._embedder = get_embedder(self.settings)
        return self._embedder

    def _current_target(self) -> str | None:
        try:
            return os.readlink(Path(self.settings.index) / "current")
        except OSError:
            return None

    def _load(self, build_if_missing: bool):
        from glossarian.index import build_index, load_index
        from glossarian.retrieval import Retriever

        model = (self.embedder.name, self.embedder.fingerprint)
        try:
            data = load_index(self.settings.index, model)
        except IndexNotFound:
            if not build_if_missing:
                raise
            log.warning("No index yet in %s: building it now.", self.settings.index)
            build_index(self.settings, self.embedder, progress=False)
            data = load_index(self.settings.index, model)
        return Retriever(data, self.embedder, self.settings.top_k)

    def retriever(self, build_if_missing: bool = True):
        """The current retriever; reloads when a newer index was swapped in, keeps the old one if it is bad."""
        target = self._current_target()
        if self._retriever is not None and target == self._loaded_target:
            return self._retriever
        with self._lock:
            target = self._current_target()
            if self._retriever is not None and target == self._loaded_target:
                return self._retriever
            try:
                self._retriever = self._load(build_if_missing)
                self._loaded_target = self._current_target()
                self.last_reload_error = None
            except (IndexInvalid, IndexNotFound) as exc:
                if self._retriever is None:
                    raise
                # Keep serving the last good index; remember why the new one was refused.
                self.last_reload_error = str(exc)
                self._loaded_target = target
                log.error("New index refused, still serving the previous one: %s", exc)
            return self._retriever

    def warm_up(self) -> None:
        self.retriever().search("warm up")

    # -- answering ---------------------------------------------------------------------------
    def stream(self, question, history: list[Turn] | None = None) -> Iterator[Answer]:
        """Yield progressively longer answers; the last one is complete. A question in Traditional Chinese is
        retrieved like its Simplified form (retrieval.py) and answered in Traditional characters."""
        from dataclasses import replace

        from glossarian.lang import is_traditional, to_traditional

        traditional = isinstance(question, str) and is_traditional(question)
        for answer in self._stream(question, history):
            yield (replace(answer, answer=to_traditional(answer.answer), notice=to_traditional(answer.notice))
                   if traditional else answer)

    def _stream(self, question, history: list[Turn] | None = None) -> Iterator[Answer]:
        q = validate_question(question, self.settings.max_question_chars)
        history = [t for t in (history or []) if isinstance(t, Turn) and t.content]
        lang = detect_language(q)
        retriever = self.retriever()
        subject = resolve_followup(q, history, retriever.matcher, retriever.index.entries)
        retrieval = retriever.search(f"{subject.term_en} {q}" if subject else q)
        retrieval.question = q
        if subject is not None:  # the conversation's subject leads, whatever the scores say
            retrieval.named = [subject.id] + [i for i in retrieval.named if i != subject.id]
        llm = self._llm()
        if llm is not None and not retrieval.abstained:
            from glossarian.llm import LLMUnavailable

            try:
                yield from self._stream_llm(llm, q, lang, retrieval, history)
                return
            except LLMUnavailable as exc:
                # The reason (with the endpoint's address) goes to the log, not to wiki readers.
                log.warning("LLM unavailable, answering offline: %s", exc)
                notice = ("LLM 暂不可用，以下是术语表的离线回答。" if lang == "zh"
                          else "The LLM is unavailable right now; this is the glossary's offline answer.")
                yield from self._stream_offline(q, lang, retrieval, notice)
                return
        yield from self._stream_offline(q, lang, retrieval, "")

    def _llm(self):
        """One backend per assistant: it keeps its HTTP client and what it learnt about the endpoint."""
        if not (self.settings.llm_base_url and self.settings.llm_model):
            return None
        if self._llm_backend is None:
            from glossarian.llm import LLMBackend

            self._llm_backend = LLMBackend.from_settings(self.settings)
        return self._llm_backend

    def _stream_offline(self, q: str, lang: str, retrieval, notice: str) -> Iterator[Answer]:
        from glossarian.compose import compose, tool_error_text, tool_text
        from glossarian.errors import ToolError
        from glossarian.tools import route, run_tool

        entries = {e.id: e for e in self.retriever().index.entries}
        base = dict(question=q, language=lang, abstained=retrieval.abstained, notice=notice,
                    suggestions=retrieval.nearest)
        text, tools = "", []
        call = route(q)
        if call is not None:
            try:
                result = run_tool(call.name, call.arguments)
                tools.append(result)
                text = tool_text(result, lang, call.defaulted)
            except ToolError as exc:
                text = tool_error_text(str(exc), lang)
            yield Answer(answer=text, tool_calls=list(tools), **base)
            if retrieval.abstained:  # the computation stands on its own; no glossary text to add
                return
            text += "\n\n"
        for chunk, sources in compose(retrieval, q, lang, entries):
            text += chunk
            yield Answer(answer=text, sources=list(sources), tool_calls=list(tools), **base)

    def _stream_llm(self, llm, q: str, lang: str, retrieval, history: list[Turn]) -> Iterator[Answer]:
        hits = retrieval.hits
        text, tools, notices = "", [], []
        for event in llm.answer(q, lang, hits, history, use_tools=True):
            if event.kind == "text":
                text += event.text
            elif event.kind == "tool" and event.tool_result is not None:
                tools.append(event.tool_result)
            elif event.kind == "notice":
                notices.append(event.text)
            yield Answer(question=q, language=lang, answer=text, sources=list(hits), tool_calls=list(tools),
                         notice=" ".join(notices))
        if not text.strip():
            from glossarian.llm import LLMUnavailable

            raise LLMUnavailable("the model returned an empty answer")

    def ask(self, question, history: list[Turn] | None = None) -> Answer:
        answer = None
        for answer in self.stream(question, history):
            pass
        return answer

    def health(self) -> dict:
        from glossarian.embedding import model_identity
        from glossarian.index import index_status

        info = {"model": self.settings.embed_model, "index": str(self.settings.index)}
        try:
            status = index_status(self.settings, model_identity(self.settings))
            info.update(entries=status.manifest.count, built_at=status.manifest.built_at,
                        stale=not status.fresh)
        except Exception as exc:  # health must answer even when the index is broken
            info.update(error=str(exc))
        info["loaded"] = self._retriever is not None
        if self.last_reload_error:
            info["reload_error"] = self.last_reload_error
        return info
