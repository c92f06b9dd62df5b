"""Turn an Answer into chat messages: tool blocks and figures, the cited answer, then the sources as cards.

All text that comes from users, the corpus or an LLM is made inert here: HTML shows as text, Markdown images
never load (they become links), and the only links left are plain http(s) ones (Gradio adds
rel="noopener noreferrer" to those) and the in-page anchors of citations (#source-n). Gradio's own sanitiser
stays on as a second line of defence.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from pathlib import Path

import gradio as gr

from glossarian.answer import Answer
from glossarian.web.terms import first_sentence

# Only "<" followed by a letter, "/", "!" or "?" can open a tag or comment; "a < b" stays readable.
TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
# An inline link to a plain http(s) URL (optionally titled): the only link syntax left live.
LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*(https?://[^\s()<>\[\]\"'\\]+)(?:\s+\"[^\"\n]*\")?\s*\)", re.I)
# "!" "[" "]" "@" with the backslashes before them: one more backslash (when their count is even) makes the
# character literal, so no other link, image or reference definition can form, and no e-mail address turns
# into a mailto: link (GFM, which Gradio's renderer follows, links bare addresses).
ACTIVE = re.compile(r"(\\*)([\[\]!@])")
BACKTICKS_OR_ESCAPE = re.compile(r"`+|\\.", re.S)
LABELS = {
    "zh": {"tool": "工具", "sources": "来源", "figure": "图"},
    "en": {"tool": "Tool", "sources": "Sources", "figure": "figure"},
}
# "[2]" in answer prose becomes a link the chat page's script (chat.CHAT_HEAD) turns into "open source card 2".
CITATION = re.compile(r"\[(\d{1,2})\](?!\()")


def escape_html(text: str) -> str:
    """Make every would-be tag plain text (entities are harmless: they only ever decode to text)."""
    return TAG_OPEN.sub("&lt;", text)


def split_code(text: str) -> list[tuple[bool, str]]:
    """(is_code, piece) pieces, split where CommonMark would see code spans and fenced blocks.

    It follows the Markdown rules that matter here (a backslash escapes a backtick; a span closes at the next
    run of exactly as many backticks; a fence opens at a line start and runs to its closing fence or the end),
    so text the renderer treats as prose is never passed over as code.
    """
    pieces, start, i = [], 0, 0
    while (m := BACKTICKS_OR_ESCAPE.search(text, i)) is not None:
        if m.group().startswith("\\"):
            i = m.end()
            continue
        run, line_start = len(m.group()), text.rfind("\n", 0, m.start()) + 1
        end = None
        if run >= 3 and m.start() - line_start <= 3 and not text[line_start:m.start()].strip(" "):
            body = text.find("\n", m.end())
            close = re.compile(rf"^ {{0,3}}`{{{run},}}[ \t]*$", re.M).search(text, body + 1) if body >= 0 else None
            end = close.end() if close else len(text)
        else:
            close = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(text, m.end())
            end = close.end() if close else None
        if end is None:
            i = m.end()
            continue
        pieces += [(False, text[start:m.start()]), (True, text[m.start():end])]
        start = i = end
    pieces.append((False, text[start:]))
    return [(code, piece) for code, piece in pieces if piece]


def _inert(text: str) -> str:
    return ACTIVE.sub(lambda m: m.group(1) + ("" if len(m.group(1)) % 2 else "\\") + m.group(2), text)


# ">" right after text closes a would-be tag ("<img src=http://x/y.png>"); GFM's autolinks run up to "<" or a
# space, so it would end up in a linked bare URL (".../y.png%3E"). As an entity it still reads ">", and the
# autolink stops before it. A ">" after a line start or a space (a quote, "a > b") is left as written.
TAG_CLOSE = re.compile(r"(?<=\S)>")


def _prose(text: str) -> str:
    text, out, last = TAG_CLOSE.sub("&gt;", escape_html(text)), [], 0
    for m in LINK.finditer(text):
        out += [_inert(text[last:m.start()]), f"[{_inert(m.group(1))}]({m.group(2)})"]
        last = m.end()
    return "".join(out) + _inert(text[last:])


# A citation [n] after _prose has made brackets inert (\[n\]); with `cite` it becomes a link to source card n.
ESCAPED_CITATION = re.compile(r"\\\[(\d{1,2})\\\](?!\()")


def escape_markdown(text: str, cite: bool = False) -> str:
    """Markdown that shows what it says and nothing more: no HTML, no images (they become links), only
    http(s) links; code spans and code blocks stay as they are. With `cite`, [n] in the prose becomes a
    link to source card n."""
    def prose(piece: str) -> str:
        out = _prose(piece)
        return ESCAPED_CITATION.sub(r"[[\1]](#source-\1)", out) if cite else out

    return "".join(piece if code else prose(piece) for code, piece in split_code(text))


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
    """Tool figures as PNG files that Gradio serves in the chat, stored once and deleted after `ttl` seconds.

    The folder is inside Gradio's private cache, so Gradio serves the file itself instead of copying it.
    Names are random (not content hashes), so nobody can tell from a URL whether someone else made a figure.
    """

    def __init__(self, folder: Path, ttl: float = 3600, clock=time.time):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ttl = ttl
        self.clock = clock
        self._names: dict[str, Path] = {}  # content hash -> file: a streamed answer saves its figure many times
        self._lock = threading.Lock()
        self._swept = clock()

    def save(self, png: bytes) -> str:
        digest = hashlib.sha256(png).hexdigest()
        with self._lock:
            if self.clock() - self._swept > min(60.0, self.ttl):
                self._sweep()
            path = self._names.get(digest)
            if path is None or not path.exists():
                path = self.folder / f"{uuid.uuid4().hex}.png"
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(png)
                tmp.replace(path)
                self._names[digest] = path
            return str(path)

    def _sweep(self) -> None:
        now = self._swept = self.clock()
        for path in self.folder.glob("*.png"):
            try:
                if now - path.stat().st_mtime > self.ttl:
                    path.unlink()
            except OSError:
                pass  # Gradio's own cache cleaning got there first
        self._names = {d: p for d, p in self._names.items() if p.exists()}


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
            metadata={"title": escape_markdown(f"{words['tool']}: {t.name}({args})"), "status": "done",
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
            metadata={"title": escape_markdown(f"[{n}] {names}"),
                      "id": f"{group}-{n}", "parent_id": group, "status": "done"},
        ))
    return messages


def answer_messages(answer: Answer, figures: FigureStore, turn_id: str) -> list[gr.ChatMessage]:
    """The messages for one answer; `turn_id` keeps the ids of its nested cards stable while it streams."""
    text = escape_markdown(answer.answer, cite=bool(answer.sources)) or "…"
    if answer.notice:
        text += f"\n\n*{escape_markdown(answer.notice)}*"
    return [*tool_messages(answer, figures), gr.ChatMessage(content=text), *source_messages(answer, turn_id)]
