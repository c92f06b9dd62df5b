"""Answers: the Answer record, and the offline composer that builds a cited answer from retrieved entries."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from glossarian.corpus import Entry
from glossarian.retrieval import Hit, Retrieval


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


def definition(entry: Entry, lang: str) -> str:
    """The entry's text in the requested language, falling back to the other one if empty."""
    text = entry.zh if lang == "zh" else entry.en
    return (text or entry.en or entry.zh).strip()


def first_paragraph(text: str) -> str:
    """Prose before the first code block or example, for compact summaries."""
    return re.split(r"\n\s*\n|```", text.strip(), maxsplit=1)[0].strip()


def term_label(entry: Entry, lang: str) -> str:
    if lang == "zh":
        return f"{entry.term_zh}（{entry.term_en}）" if entry.term_zh != entry.term_en else entry.term_zh
    return f"{entry.term_en} ({entry.term_zh})" if entry.term_zh != entry.term_en else entry.term_en


def no_answer_text(question: str, lang: str, nearest: list[Hit]) -> str:
    names = ", ".join(term_label(h.entry, lang) for h in nearest[:3])
    if lang == "zh":
        text = "术语表里没有能回答这个问题的条目，我不会凭空编造定义。"
        if names:
            text += f"\n\n相近的术语有：{names}。如果你问的是其中之一，可以直接问它。"
        return text
    text = "The glossary has no entry that answers this, and I won't make one up."
    if names:
        text += f"\n\nThe nearest terms it does have: {names}. Ask about one of them directly if that is what you meant."
    return text


def simple_compose(retrieval: Retrieval, lang: str, related_names: dict[str, Entry]) -> Iterator[tuple[str, list[Hit]]]:
    """Yield (text chunk, sources so far): each named entry's definition with its citation."""
    hits = retrieval.hits
    if retrieval.abstained or not hits:
        yield no_answer_text(retrieval.question, lang, retrieval.nearest), []
        return
    exact = [h for h in hits if h.exact]
    chosen = exact if len(exact) >= 2 else hits[:1]
    sources: list[Hit] = []
    for n, h in enumerate(chosen, 1):
        sources.append(h)
        block = f"**{term_label(h.entry, lang)}** [{n}]\n\n{definition(h.entry, lang)}"
        yield ("\n\n" if n > 1 else "") + block, list(sources)
    related = []
    for h in chosen:
        for rid in h.entry.related:
            e = related_names.get(rid)
            if e and e.id not in {c.entry.id for c in chosen} and e not in related:
                related.append(e)
    if related:
        label = "相关术语：" if lang == "zh" else "Related terms: "
        sep = "、" if lang == "zh" else ", "
        yield "\n\n" + label + sep.join(term_label(e, lang) for e in related[:6]), list(sources)
