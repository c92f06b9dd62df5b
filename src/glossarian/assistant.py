"""The Assistant: one plain object that owns the model, the index and the answer engine.

The CLI and the web app are thin shells over it. It loads lazily, builds the index on first use
when none exists, and switches to a newer index as soon as `glossarian index build` swaps one in,
keeping the last good index when a new one cannot be loaded.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Iterator

from glossarian.answer import Answer
from glossarian.config import Settings
from glossarian.history import check_history
from glossarian.conversation import Turn
from glossarian.errors import IndexInvalid, IndexNotFound, InputError
from glossarian.lang import detect_language, normalize

log = logging.getLogger("glossarian")


def validate_question(question, max_chars: int) -> str:
    if not isinstance(question, str):
        raise InputError(f"The question must be text, not {type(question).__name__}.",
                         'Send {"question": "..."} with a string.')
    if "\x00" in question or sum(1 for c in question if not (c.isprintable() or c.isspace())) > len(question) * 0.3:
        raise InputError("The question is not readable text (binary or control characters).",
                         "Type the question in plain Chinese or English.")
    if len(question) > max_chars:
        if detect_language(question[:max_chars]) == "zh":  # the refusal in the question's language
            raise InputError(f"问题有 {len(question)} 个字符，上限是 {max_chars}。",
                             "一次只问一两个术语；如果前面贴了背景材料，只留下问题本身。")
        raise InputError(f"The question is {len(question)} characters long; the limit is {max_chars}.",
                         "Ask about one or two terms at a time.")
    cleaned = normalize(question)
    if not cleaned:
        raise InputError("The question is empty.", "Type a question, e.g. 'What is a backbone?' or '什么是 GAP？'")
    return cleaned


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
            from glossarian.batcher import batching
            from glossarian.embedding import get_embedder

            with self._lock:
                if self._embedder is None:  # concurrent questions share forward passes (batcher.py)
                    self._embedder = batching(get_embedder(self.settings), self.settings.lanes,
                                              self.settings.batch_max)
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
        from glossarian.answer.composer import Composer
        from glossarian.answer.events import fold
        from glossarian.conversation import plan

        q = validate_question(question, self.settings.max_question_chars)
        # Bounded before any work (413/422 through the API): turns, characters per turn and in all; then only the
        # recent turns a follow-up needs are read, each clipped (history.py).
        history = check_history([t for t in (history or []) if isinstance(t, Turn) and t.content], self.settings)
        lang = detect_language(q)
        request = plan(q, lang, history, self.retriever())
        llm = self._llm()
        if llm is not None and request.subjects and not request.missing_term:
            from glossarian.answer.guard import guarded

            yield from guarded(llm, request)  # falls back to the offline answer when the LLM's cannot stand
            return
        yield from fold(Composer().answer(request), request)

    def _llm(self):
        """One backend per assistant: it keeps its HTTP client and what it learnt about the endpoint."""
        if not (self.settings.llm_base_url and self.settings.llm_model):
            return None
        if self._llm_backend is None:
            from glossarian.answer.llm import LLMBackend

            self._llm_backend = LLMBackend.from_settings(self.settings)
        return self._llm_backend

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
        if self._embedder is not None:  # "onnx", or "torch" (chosen, or fallen back to: the log says why)
            info["encoder"] = getattr(getattr(self._embedder, "inner", self._embedder), "backend", "unknown")
        if self.last_reload_error:
            info["reload_error"] = self.last_reload_error
        if self.settings.llm_base_url and self.settings.llm_model:
            from glossarian.answer.guard import fallback_counts

            info["llm_fallbacks"] = fallback_counts()  # LLM answers replaced by offline ones, by reason
        return info
