"""What of an entry is embedded: one short view per language for its definition, each facet and each `asks` line.

An entry scores by its best view (index.IndexData.entry_cosines). Short, focused passages match questions far
better with a small encoder than one long bilingual passage (dev set, e5-small: dense hit@1 0.82 with one combined
passage, 0.91 with the best of two definition views). Facet views let "why/how/when" questions meet the text that
answers them; `asks` views are the ways people describe the entry without naming it.
Unconverted entries (no facets, no asks) get the two definition views only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from glossarian.corpus import FACETS, HEADING_OF, LANGS, Entry

# Bump when view texts change: vectors of an older layout are never reused by an incremental build.
LAYOUT = "views-3: definition, facets and asks per language"
# Facet views keep their first paragraph up to this many characters: the e5 encoder slows with length
# (ENVIRONMENT.md: 100 texts/s at 32 tokens, 23 at 128) and the opening carries the facet's point.
FACET_CHARS = 240


@dataclass(frozen=True)
class View:
    kind: str  # "definition", a facet key (corpus.FACETS) or "asks"
    lang: str
    text: str


def opening(text: str, limit: int | None = None) -> str:
    """Prose before the first blank line or code block, cut at a sentence end near `limit`."""
    para = re.split(r"\n\s*\n|```", text.strip(), maxsplit=1)[0].strip()
    if not para:  # a facet that opens with code: its first prose line after the code
        prose = [ln for ln in re.sub(r"```.*?```", "", text, flags=re.S).splitlines() if ln.strip()]
        para = prose[0].strip() if prose else ""
    if limit and len(para) > limit:
        cut = max(para.rfind(p, 0, limit) for p in "。.!?！？；;")
        para = para[: cut + 1] if cut > limit // 3 else para[:limit]
    return para


def _label(entry: Entry, lang: str) -> str:
    aliases = ", ".join(entry.aliases)
    if lang == "zh":
        return f"{entry.term_zh} {entry.term_en}" + (f" ({aliases})" if aliases else "")
    return f"{entry.term_en} ({entry.term_zh}{', ' + aliases if aliases else ''})"


def entry_views(entry: Entry) -> list[View]:
    """Every view of one entry, definition views first (always present, also for unconverted entries)."""
    out = [View("definition", lang, f"{_label(entry, lang)}: {opening(entry.definition(lang))}") for lang in LANGS]
    for lang in LANGS:
        for key in FACETS:
            text = opening(entry.facet(lang, key), FACET_CHARS)
            if text:
                name = entry.term_zh if lang == "zh" else entry.term_en
                out.append(View(key, lang, f"{name}（{HEADING_OF[lang][key]}）：{text}" if lang == "zh"
                                else f"{name} — {HEADING_OF[lang][key]}: {text}"))
    for lang in LANGS:
        out += [View("asks", lang, line) for line in entry.asks.get(lang, ()) if line.strip()]
    return out
