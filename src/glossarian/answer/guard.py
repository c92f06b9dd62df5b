"""The LLM answer, guarded: calculators first, a bounded stream, and checks before the reader keeps the answer.

`guarded(llm, request)` is what the Assistant runs instead of the bare LLM backend; like `events.fold` it yields
Answer snapshots, the last one being the answer the reader keeps. In order:
1. Tools first: when the deterministic router proposed a computation (`request.tool_call`), the calculator runs
   before the model is asked (`Composer.compute`, the offline path's own code); its rendered result (numbers,
   code) opens the answer and the model only explains it, without tools. A computation no calculator covers, or
   one a calculator refuses, is answered offline without the model: the offline answer says why there is no
   number instead of letting a model guess one.
2. The model's events stream as they arrive (the backend bounds them by GLOSSARIAN_LLM_TIMEOUT and _MAX_TOKENS).
3. The model's finished text goes through `checks.check_answer`; a failed check, an overrun or an unavailable
   endpoint replace the streamed text with the offline answer and a one-line notice in the question's language.
   Each is counted (`fallback_counts()`, shown in `Assistant.health()`) and logged once.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from itertools import chain
from typing import Iterator

from glossarian.answer import Answer
from glossarian.answer.checks import Expectations, check_answer, numbers_in
from glossarian.answer.composer import Composer
from glossarian.answer.events import Event, Notice, Request, Text, ToolFailed, ToolRan, fold

log = logging.getLogger("glossarian")

NOTICES = {
    "unavailable": {"zh": "LLM 暂不可用，以下是术语表的离线回答。",
                    "en": "The LLM is unavailable right now; this is the glossary's offline answer."},
    "overrun": {"zh": "LLM 没能在限定时间或长度内答完，以下是术语表的离线回答。",
                "en": "The LLM did not finish within its time or length limit; this is the glossary's offline answer."},
    "checks": {"zh": "LLM 的回答没有通过检查，以下是术语表的离线回答。",
               "en": "The LLM's answer did not pass the answer checks; this is the glossary's offline answer."},
}
LOGGED = {"unavailable": "unavailable", "overrun": "over its budget", "checks": "answer failed the checks"}
MAX_SUBJECTS = 2  # "GAP 和 GMP 有什么区别" names two terms; an answer should name both

_counts: Counter = Counter()
_counts_lock = threading.Lock()


def fallback_counts() -> dict[str, int]:
    """Why LLM answers were replaced by offline ones since start: "unavailable", "overrun", or a check's name."""
    with _counts_lock:
        return dict(_counts)


def notice(reason: str, lang: str) -> str:
    return NOTICES[reason]["zh" if lang == "zh" else "en"]


def expectations(request: Request, tools: list) -> Expectations:
    """What the model's text must satisfy for this request. Numbers are checked only next to a tool's result:
    those the question and every calculator (arguments, values, wording) produced."""
    numbers = None
    if tools:
        numbers = numbers_in(request.question)
        for r in tools:
            numbers += numbers_in(r.arguments) + numbers_in(r.values) + numbers_in(r.headline) + numbers_in(r.summary)
    return Expectations(request.language, len(request.hits), in_scope=bool(request.hits),
                        subjects=[h.entry.names for h in request.subjects[:MAX_SUBJECTS]], numbers=numbers)


def guarded(llm, request: Request) -> Iterator[Answer]:
    """Answer snapshots from the LLM, or from the offline composer when the LLM's answer cannot stand."""
    from glossarian.answer.llm import LLMOverrun, LLMUnavailable

    ran: list[Event] = []  # the calculator's events, shown first and replayed by a fallback (never run twice)
    if request.intent == "compute" or request.tool_call is not None:
        ran = list(Composer().compute(request)) if request.tool_call is not None else []
        if not any(isinstance(e, ToolRan) for e in ran):
            # No calculator, or it refused the arguments: the offline answer says so rather than let a model guess.
            yield from fold(_Replayed(ran).answer(request), request)
            return
    computed = [e.result for e in ran if isinstance(e, ToolRan)]
    lead = [*ran, Text("\n\n")] if ran else []
    said: list[str] = []  # the model's text alone, for the checks

    def model_events() -> Iterator[Event]:
        for event in llm.answer(request, use_tools=not computed, computed=computed or None):
            if isinstance(event, Text):
                said.append(event.text)
            yield event
            if isinstance(event, ToolFailed):  # a tool the model called refused its inputs: shown to the user
                yield Notice(f"计算没有运行（{event.name}）：{event.message}" if request.language == "zh"
                             else f"The computation did not run ({event.name}): {event.message}")

    answer = None
    try:
        for answer in fold(chain(lead, model_events()), request):
            yield answer
    except LLMOverrun as exc:
        yield from _fall_back("overrun", exc, request, ran)
        return
    except LLMUnavailable as exc:  # the reason (with the endpoint's address) goes to the log, not to wiki readers
        yield from _fall_back("unavailable", exc, request, ran)
        return
    failed = check_answer("".join(said), expectations(request, answer.tool_calls if answer else []))
    if failed:
        yield from _fall_back("checks", ", ".join(failed), request, ran, failed)


def _fall_back(reason: str, why, request: Request, ran: list[Event],
               failed: list[str] | None = None) -> Iterator[Answer]:
    with _counts_lock:
        _counts.update(failed or [reason])
    log.warning("LLM %s, answering offline: %s (question: %r)", LOGGED[reason], why, request.question[:120])
    yield from fold(_Replayed(ran).answer(request), request, notice(reason, request.language))


class _Replayed(Composer):
    """The offline composer, with the calculator's events from this request replayed instead of run again (a
    calculator can take seconds; a refusal may be its time limit)."""

    def __init__(self, ran: list[Event]) -> None:
        self.ran = ran

    def compute(self, request: Request):
        if not self.ran:  # nothing ran: no calculator for it (the composer says so)
            return (yield from super().compute(request))
        yield from self.ran
        return True  # a number, or a refusal with its reason (as Composer.compute returns)
