"""Turn an Answer into chat messages: tool blocks and figures, the cited answer, then the sources as cards.

All text that comes from users or the corpus is escaped here, so a `<script>` in a question or an entry
shows up as text. Gradio's own sanitiser stays on as a second line of defence.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

import gradio as gr

from glossarian.answer import Answer
from glossarian.web.terms import first_sentence

# Markdown shows code spans and fenced blocks literally, so only the prose between them needs escaping.
CODE = re.compile(r"(`{3,}.*?(?:`{3,}|\Z)|`[^`\n]+`)", re.S)
# Only "<" followed by a letter, "/", "!" or "?" can open a tag or comment; "a < b" stays readable.
TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
LABELS = {
    "zh": {"tool": "工具", "sources": "来源", "figure": "图"},
    "en": {"tool": "Tool", "sources": "Sources", "figure": "figure"},
}
# "[2]" in answer prose becomes a link the chat page's script (chat.CHAT_HEAD) turns into "open source card 2".
CITATION = re.compile(r"\[(\d{1,2})\](?!\()")


def escape_html(text: str) -> str:
    """Make every would-be tag plain text (entities are harmless: they only ever decode to text)."""
    return TAG_OPEN.sub("&lt;", text)


def escape_markdown(text: str, cite: bool = False) -> str:
    """Escape HTML in Markdown prose; leave code spans and code blocks as they are. With `cite`, [n] in the
    prose becomes a link to source card n."""
    parts = CODE.split(text)
    prose = (lambda p: CITATION.sub(r"[[\1]](#source-\1)", escape_html(p))) if cite else escape_html
    return "".join(part if i % 2 else prose(part) for i, part in enumerate(parts))


def definition(entry, lang: str) -> str:
    """The entry's text in the answer's language, or the other one when that is empty."""
    first, second = (entry.zh, entry.en) if lang == "zh" else (entry.en, entry.zh)
    return (first or second or "").strip()


def code_block(code: str, lang: str = "") -> str:
    fence = "```"
    while fence in code:  # a fence longer than any run of backticks inside the code
        fence += "`"
    return f"{fence}{lang}\n{code.rstrip()}\n{fence}"


def short(value, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FigureStore:
    """Tool figures as PNG files (named by content) that Gradio can serve in the chat."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def save(self, png: bytes) -> str:
        path = self.folder / f"{hashlib.sha256(png).hexdigest()[:20]}.png"
        if not path.exists():
            tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
            tmp.write_bytes(png)
            tmp.replace(path)
        return str(path)


def tool_messages(answer: Answer, figures: FigureStore) -> list[gr.ChatMessage]:
    words = LABELS.get(answer.language, LABELS["en"])
    messages = []
    for t in answer.tool_calls:
        args = ", ".join(f"{k}={short(v, 40)}" for k, v in t.arguments.items())
        summary = t.summary.get(answer.language) or t.summary.get("en") or ""
        body = [escape_markdown(summary),
                code_block(json.dumps(t.arguments, ensure_ascii=False, indent=1), "json"),
                code_block(t.code, "python")]
        messages.append(gr.ChatMessage(
            content="\n\n".join(b for b in body if b),
            metadata={"title": escape_html(f"{words['tool']}: {t.name}({args})"), "status": "done",
                      "log": "done", "duration": round(t.duration_ms / 1000, 3)},
        ))
        if t.figure_png:
            messages.append(gr.ChatMessage(content={"path": figures.save(t.figure_png),
                                                    "alt_text": f"{t.name} {words['figure']}"}))
    return messages


def source_messages(answer: Answer, turn_id: str) -> list[gr.ChatMessage]:
    if not answer.sources:
        return []
    words = LABELS.get(answer.language, LABELS["en"])
    group = f"sources-{turn_id}"  # ids must be unique across the whole conversation
    messages = [gr.ChatMessage(content="", metadata={
        "title": f"{words['sources']} ({len(answer.sources)})", "id": group, "status": "done"})]
    for n, hit in enumerate(answer.sources, 1):
        e = hit.entry
        names = e.term_zh if e.term_zh == e.term_en else f"{e.term_zh} · {e.term_en}"
        messages.append(gr.ChatMessage(  # names and the first sentence; a raw score means nothing to readers
            content=escape_markdown(first_sentence(definition(e, answer.language))),
            metadata={"title": escape_html(f"[{n}] {names}"),
                      "id": f"{group}-{n}", "parent_id": group, "status": "done"},
        ))
    return messages


def answer_messages(answer: Answer, figures: FigureStore, turn_id: str) -> list[gr.ChatMessage]:
    """The messages for one answer; `turn_id` keeps the ids of its nested cards stable while it streams."""
    text = escape_markdown(answer.answer, cite=bool(answer.sources)) or "…"
    if answer.notice:
        text += f"\n\n*{escape_html(answer.notice)}*"
    return [*tool_messages(answer, figures), gr.ChatMessage(content=text), *source_messages(answer, turn_id)]
