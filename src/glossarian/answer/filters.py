"""Stream filters for LLM output: drop <think> blocks, drop citations that point at no source, trim the start.

Each filter takes text deltas as they arrive and holds back only what could still grow into a tag or a
citation with the next delta, so the answer streams with no visible delay.
"""
from __future__ import annotations

import re

def _partial_suffix(text: str, token: str) -> int:
    """Length of the longest end of `text` that could be the start of `token`."""
    for k in range(min(len(token) - 1, len(text)), 0, -1):
        if text.endswith(token[:k]):
            return k
    return 0


class ThinkFilter:
    """Drops <think>...</think> blocks of reasoning models, also when a tag is split across chunks."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.inside = False
        self.pending = ""

    def feed(self, text: str) -> str:
        buf, out = self.pending + text, []
        self.pending = ""
        while buf:
            tag = self.CLOSE if self.inside else self.OPEN
            at = buf.find(tag)
            if at >= 0:
                if not self.inside:
                    out.append(buf[:at])
                buf = buf[at + len(tag):]
                self.inside = not self.inside
                continue
            keep = _partial_suffix(buf, tag)
            if not self.inside:
                out.append(buf[: len(buf) - keep])
            self.pending = buf[len(buf) - keep:]
            break
        return "".join(out)

    def flush(self) -> str:
        text = "" if self.inside else self.pending  # an unclosed <think> is dropped whole
        self.pending = ""
        return text


CITATION = re.compile(r"(\s*)\[(\s*\d+(?:\s*[,，、]\s*\d+)*\s*)\]")
# What may still grow into a citation (or a code fence) with the next chunk: held back until it is complete.
# Whitespace is held too, so a removed citation takes the space before it along.
INCOMPLETE = re.compile(r"(?:\s*(?:\[[\d\s,，、]{0,20})?|`{1,2})\Z")
CODE_MARK = re.compile(r"(```|`)")


class CitationFilter:
    """Removes citations [n] with n outside 1..sources from streamed text; code spans are left alone."""

    def __init__(self, sources: int) -> None:
        self.sources = sources
        self.pending = ""
        self.code: str | None = None  # the backticks that opened the code span we are in

    def feed(self, text: str) -> tuple[str, list[int]]:
        buf = self.pending + text
        cut = INCOMPLETE.search(buf).start()
        self.pending = buf[cut:]
        return self._clean(buf[:cut])

    def flush(self) -> tuple[str, list[int]]:
        text, self.pending = self.pending, ""
        return self._clean(text)

    def _clean(self, text: str) -> tuple[str, list[int]]:
        out: list[str] = []
        removed: list[int] = []
        for part in CODE_MARK.split(text):
            if part in ("```", "`"):
                if self.code is None:
                    self.code = part
                elif self.code == part:
                    self.code = None
                out.append(part)
            elif self.code:
                out.append(part)  # x[0] in code is an index, not a citation
            else:
                out.append(CITATION.sub(lambda m: self._check(m, removed), part))
        return "".join(out), removed

    def _check(self, match: re.Match, removed: list[int]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        valid = [n for n in numbers if 1 <= n <= self.sources]
        if len(valid) == len(numbers):
            return match.group(0)
        removed.extend(n for n in numbers if n not in valid)
        return f"{match.group(1)}[{', '.join(map(str, valid))}]" if valid else ""


class AnswerFilter:
    """What the user sees of one streamed reply: no reasoning block, no leading blank lines, valid citations."""

    def __init__(self, sources: int) -> None:
        self.think = ThinkFilter()
        self.citations = CitationFilter(sources)
        self.started = False

    def feed(self, delta: str) -> tuple[str, list[int]]:
        return self.citations.feed(self._trim(self.think.feed(delta)))

    def flush(self) -> tuple[str, list[int]]:
        text, removed = self.citations.feed(self._trim(self.think.flush()))
        rest, more = self.citations.flush()
        return text + rest, removed + more

    def _trim(self, text: str) -> str:
        if not self.started:
            text = text.lstrip()
            self.started = bool(text)
        return text
