"""Answers: the Answer record every backend's events fold into, and what the CLI, API and UI show.

The package holds one seam for answer backends (`events.Backend`): the offline composer (`composer.py`)
and the LLM endpoint (`llm.py`, with its stream filters in `filters.py`) both turn a `Request` into the
same typed events (text, citation, tool ran, tool failed, notice); `fold` builds the Answer from them.
The LLM's answer reaches the reader through `guard.py` (calculators first, a bounded stream, the answer
checks of `checks.py`), which falls back to the composer's answer when the LLM's cannot stand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from glossarian.retrieval import Hit


@dataclass
class Answer:
    question: str
    language: str  # "zh" or "en"
    answer: str
    sources: list[Hit] = field(default_factory=list)  # citation [n] refers to sources[n-1]
    sections: list[str] = field(default_factory=list)  # per source: the facet(s) its cited text came from
    tool_calls: list = field(default_factory=list)  # ToolResult objects
    tool_errors: list[tuple[str, str]] = field(default_factory=list)  # (tool name, why it did not run)
    abstained: bool = False
    notice: str = ""  # one-line operational notice (e.g. "LLM unavailable, answered offline")
    intent: str = "define"  # what the question asked (intent.INTENTS)
    missing_term: str | None = None  # a term the question names that the glossary does not have
    closest: list[Hit] = field(default_factory=list)  # offered for a missing term; not sources

    def to_json(self) -> dict:
        sources = [{**h.to_source(), "section": s} for h, s in zip(self.sources, self._sections())]
        return {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "intent": self.intent,
            "missing_term": self.missing_term,
            "sources": sources,
            "closest": [h.to_source() for h in self.closest],
            "tool_calls": [
                {"name": t.name, "arguments": t.arguments, "result": t.to_json()} for t in self.tool_calls
            ],
            "tool_errors": [{"name": n, "error": e} for n, e in self.tool_errors],
        }

    def _sections(self) -> list[str]:
        return self.sections + ["definition"] * (len(self.sources) - len(self.sections))
