"""The Answer record: what every backend produces and the CLI, API and UI show."""
from __future__ import annotations

from dataclasses import dataclass, field
from glossarian.retrieval import Hit


@dataclass
class Answer:
    question: str
    language: str  # "zh" or "en"
    answer: str
    sources: list[Hit] = field(default_factory=list)  # citation [n] refers to sources[n-1]
    tool_calls: list = field(default_factory=list)  # ToolResult objects
    abstained: bool = False
    notice: str = ""  # one-line operational notice (e.g. "LLM unavailable, answered offline")
    suggestions: list[Hit] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "sources": [h.to_source() for h in self.sources],
            "tool_calls": [
                {"name": t.name, "arguments": t.arguments, "result": t.to_json()} for t in self.tool_calls
            ],
        }
