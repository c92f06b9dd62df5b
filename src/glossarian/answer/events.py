"""The one seam between the Assistant and its answer backends: a Request in, typed events out.

A backend (the offline composer, the LLM endpoint) implements `answer(request) -> Iterator[Event]`.
The Assistant folds the events into Answer snapshots the same way whichever backend produced them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Protocol, Union

from glossarian.answer import Answer
from glossarian.corpus import Entry
from glossarian.retrieval import Hit


@dataclass(frozen=True)
class Text:
    text: str  # a piece of the answer, appended as it comes


@dataclass(frozen=True)
class Citation:
    number: int  # [number] in the text refers to this source
    hit: Hit
    section: str  # which part of the entry the cited text came from: "definition" or a facet key


@dataclass(frozen=True)
class ToolRan:
    result: object  # tools.ToolResult


@dataclass(frozen=True)
class ToolFailed:
    name: str
    message: str  # why it did not run, for the user


@dataclass(frozen=True)
class Notice:
    text: str  # an operational note beside the answer (removed citations, a fallback)


Event = Union[Text, Citation, ToolRan, ToolFailed, Notice]


@dataclass
class Request:
    """Everything a backend needs for one answer; built by `conversation.plan`."""
    question: str
    language: str
    intent: str
    subjects: list[Hit]  # what the answer is about, in the order asked
    hits: list[Hit]  # everything retrieval returned (the LLM's context)
    entries: dict[str, Entry]  # id -> entry, for related terms
    history: list = field(default_factory=list)  # conversation.Turn
    tool_call: object | None = None  # tools.ToolCall the router proposes for a computation
    followup: bool = False  # the subject came from earlier turns, not from this question
    shown: frozenset = frozenset()  # (entry id, intent) pairs earlier turns already answered
    missing_term: str | None = None
    closest: list[Hit] = field(default_factory=list)
    abstained: bool = False


class Backend(Protocol):
    def answer(self, request: Request) -> Iterator[Event]: ...


def fold(events, request: Request, notice: str = "") -> Iterator[Answer]:
    """Answer snapshots, one per event: the text so far, the sources cited so far, the tools run so far."""
    answer = Answer(question=request.question, language=request.language, answer="", intent=request.intent,
                    abstained=request.abstained and not request.missing_term, notice=notice,
                    missing_term=request.missing_term, closest=list(request.closest))
    yielded = False
    for event in events:
        yielded = True
        if isinstance(event, Text):
            answer = replace(answer, answer=answer.answer + event.text)
        elif isinstance(event, Citation):
            sources, sections = list(answer.sources), list(answer.sections)
            if event.number <= len(sources):  # cited again, maybe from another part of the entry
                sources[event.number - 1], sections[event.number - 1] = event.hit, event.section
            elif event.number == len(sources) + 1:
                sources.append(event.hit)
                sections.append(event.section)
            else:
                raise ValueError(f"citation [{event.number}] announced before [{len(sources) + 1}]")
            answer = replace(answer, sources=sources, sections=sections)
        elif isinstance(event, ToolRan):
            answer = replace(answer, tool_calls=[*answer.tool_calls, event.result])
        elif isinstance(event, ToolFailed):
            answer = replace(answer, tool_errors=[*answer.tool_errors, (event.name, event.message)])
        elif isinstance(event, Notice):
            answer = replace(answer, notice=" ".join(t for t in (answer.notice, event.text) if t))
        yield answer
    if not yielded:
        yield answer
