"""The offline answer backend: a cited answer composed only from retrieved entries (and tool results).

It leads with what was asked: the name for "what is this called", the why / how / example / typical values /
when-to-use facet for those questions, what the entry says of large and small settings for a limit case,
a table of differences then "use A when… / B when…" for a comparison, the tool's result for a computation,
and the definition with its key points otherwise. A follow-up never repeats an earlier answer: it says in
one line that the glossary has nothing more and offers what the entry does have. Every sentence comes from
an entry and carries its citation; a term the glossary lacks is named as missing, with no sources.
"""
from __future__ import annotations

import functools
import re
from typing import Iterator

from glossarian import intent as intents
from glossarian.answer import text as T
from glossarian.answer.events import Citation, Event, Request, Text, ToolFailed, ToolRan
from glossarian.retrieval import Hit


def _zh(lang: str) -> bool:
    return lang == "zh"


def _join(items: list[str], lang: str) -> str:
    return ("、" if _zh(lang) else ", ").join(items)


class Composer:
    """Backend with no model behind it: deterministic, grounded, instant."""

    def answer(self, request: Request) -> Iterator[Event]:
        lang = request.language
        if request.missing_term:
            yield Text(missing_text(request.missing_term, request.closest, lang))
            return
        if request.intent == "compute" or request.tool_call is not None:
            ran = yield from self.compute(request)
            if request.tool_call is None or request.abstained or not request.subjects:
                return  # no calculator fits: that one line, not a definition in place of a number
            if ran or request.followup:
                h = request.subjects[0]
                if (h.entry.id, "define") not in request.shown:  # the definition once, beside the numbers
                    yield from self._context_line(h, lang)
                return
            yield Text("\n\n")
        if request.abstained or not request.subjects:
            yield Text(no_answer(lang))
            return
        subjects = request.subjects
        kind = request.intent
        if kind == "compare" and len(subjects) >= 2:
            yield from _compare(subjects[:4], lang)
            return
        if len(subjects) >= 2 and kind in ("define", "compute"):
            yield from _several(subjects[:4], lang)
            yield from _related(subjects, request)
            return
        h = subjects[0]
        if request.followup and (h.entry.id, kind) in request.shown:
            yield from _nothing_more(h, kind, request, already=True)
        elif kind == "name":
            yield from _name(h, lang)
            yield from _related(subjects[:1], request)
        elif kind == "limit":
            yield from _limit(h, request)
        elif kind in intents.FACET_OF:
            yield from _facet(h, intents.FACET_OF[kind], request)
        else:
            yield from _define(h, lang)
            yield from _offer(h, request, {"define"})
            yield from _related(subjects[:1], request)

    # -- computation ------------------------------------------------------------------------
    def compute(self, request: Request):
        """Run the proposed tool; returns whether the request got its answer (a number, or a refusal with the
        reason), after which only a one-line definition follows. The calculators render their own result (the number
        first, assumed values named in the question's language: tools/render.py). The LLM path runs this too,
        before asking the model (tools first: guard.py)."""
        from glossarian.errors import ToolError
        from glossarian.tools import run_tool
        from glossarian.tools.render import error_text, no_calculator_text, result_text

        lang, call = request.language, request.tool_call
        if call is None:
            yield Text(no_calculator_text(lang))
            return False
        try:
            result = run_tool(call.name, call.arguments)
        except ToolError as exc:
            yield ToolFailed(call.name, str(exc))
            yield Text(error_text(exc, lang))
            return True  # a refusal with its reason answers the request as much as a number does
        yield ToolRan(result)
        yield Text(result_text(result, lang, call))
        return True

    def _context_line(self, h: Hit, lang: str) -> Iterator[Event]:
        yield Citation(1, h, "definition")
        colon = "：" if _zh(lang) else ": "
        yield Text(f"\n\n**{T.label(h.entry, lang)}** [1]{colon}{T.first_sentence(T.definition(h.entry, lang), 400)}")


# ---------------------------------------------------------------- one subject


def _define(h: Hit, lang: str) -> Iterator[Event]:
    yield Citation(1, h, "definition")
    body = T.definition(h.entry, lang)
    sent = T.sentences(body)
    yield Text(f"**{T.label(h.entry, lang)}** [1]\n\n{sent[0] if sent else ''}")
    if len(sent) > 1:
        yield Text("\n\n要点：" if _zh(lang) else "\n\nKey points:")
        for s in sent[1:]:
            yield Text(f"\n- {s} [1]")
    for block in T.code_blocks(body)[:1]:
        yield Text(f"\n\n{block}")


def _name(h: Hit, lang: str) -> Iterator[Event]:
    yield Citation(1, h, "definition")
    first = T.first_sentence(T.definition(h.entry, lang), 400)
    lead = f"这叫 **{T.label(h.entry, lang)}** [1]。" if _zh(lang) else f"This is called **{T.label(h.entry, lang)}** [1]."
    yield Text(f"{lead}\n\n{first} [1]")


def _facet(h: Hit, key: str, request: Request) -> Iterator[Event]:
    lang = request.language
    text, section = T.facet(h.entry, lang, key)
    if not text:
        others = [o for o in request.subjects[1:]]
        relation = list(_relation([h, *others], lang, lead="")) if others else []
        if relation:  # "why does it replace FC layers?": what the entries say of each other
            yield from relation
            return
        yield from _nothing_more(h, request.intent, request, already=False)
        return
    yield Citation(1, h, section)
    colon = "：" if _zh(lang) else ": "
    yield Text(f"**{T.label(h.entry, lang)}{colon}{T.heading(key, lang)}** [1]\n\n{T.cite(text, 1)}")
    yield from _offer(h, request, {request.intent})


def _limit(h: Hit, request: Request) -> Iterator[Event]:
    lang = request.language
    found = T.limit_sentences(h.entry, lang)[:4]
    if not found:
        yield from _nothing_more(h, "limit", request, already=False)
        return
    sections = list(dict.fromkeys(sec for _, sec in found))
    yield Citation(1, h, ",".join(sections))
    head = "取值很大或很小时" if _zh(lang) else "at large and small settings"
    colon = "：" if _zh(lang) else ": "
    yield Text(f"**{T.label(h.entry, lang)}{colon}{head}** [1]\n")
    for s, _ in found:
        yield Text(f"\n- {s} [1]")


def _nothing_more(h: Hit, kind: str, request: Request, already: bool) -> Iterator[Event]:
    """One plain line that the glossary has nothing (more) for this, then what it does have."""
    lang, name, what = request.language, T.label(h.entry, request.language), intents.label(kind, request.language)
    yield Citation(1, h, "")
    if _zh(lang):
        line = f"前面已经给出了{name}的{what}，术语表里没有更多内容。" if already else f"术语表里关于{name}的{what}没有更多内容。"
    else:
        line = (f"The glossary's {what} for {name} was given above; it has nothing more." if already
                else f"The glossary has nothing on {what} for {name}.")
    offered = list(_offer(h, request, {kind}, lead="\n\n"))
    yield Text(line + ("" if offered else " [1]"))
    yield from offered


def _offer(h: Hit, request: Request, now: set[str], lead: str = "\n\n") -> Iterator[Event]:
    """The facets this entry has that the conversation has not shown yet."""
    lang = request.language
    shown = {k for i, k in request.shown if i == h.entry.id} | now
    keys = [k for k in h.entry.facet_keys(lang) if k not in shown]
    if not keys:
        return
    names = _join([T.heading(k, lang) for k in keys], lang)
    yield Text(f"{lead}术语表里还有它的：{names} [1]。" if _zh(lang) else f"{lead}The glossary also has: {names} [1].")


def _related(subjects: list[Hit], request: Request) -> Iterator[Event]:
    lang = request.language
    chosen = {h.entry.id for h in subjects}
    out = []
    for h in subjects:
        for rid in h.entry.related:
            e = request.entries.get(rid)
            if e is not None and e.id not in chosen and e not in out:
                out.append(e)
    if out:
        head = "\n\n相关术语：" if _zh(lang) else "\n\nRelated terms: "
        yield Text(head + _join([T.label(e, lang) for e in out[:6]], lang))


# ---------------------------------------------------------------- several subjects


def _several(subjects: list[Hit], lang: str) -> Iterator[Event]:
    colon = "：" if _zh(lang) else ": "
    for n, h in enumerate(subjects, 1):
        yield Citation(n, h, "definition")
        sep = "\n\n" if n > 1 else ""
        lead = (" " if lang != "zh" else "").join(T.sentences(T.definition(h.entry, lang))[:2])
        yield Text(f"{sep}**{T.label(h.entry, lang)}** [{n}]{colon}{lead}")


ROWS = ("definition", "why", "how", "values")
ROW_NAMES = {"zh": {"definition": "是什么", "why": "为什么用", "how": "原理", "values": "常用取值"},
             "en": {"definition": "What it is", "why": "Why use it", "how": "How it works", "values": "Typical values"}}


def _cell(text: str) -> str:
    return T.first_sentence(text).replace("|", "\\|") or "—"


def _compare(subjects: list[Hit], lang: str) -> Iterator[Event]:
    """A table of differences (aspect | A | B) from both entries' facets, then when to use which, then
    what each entry's comparison says of the other."""
    zh = _zh(lang)
    for n, h in enumerate(subjects, 1):
        sections = ["definition"] + [k for k in ("why", "how", "values", "when", "compare") if h.entry.facet(lang, k)]
        yield Citation(n, h, ",".join(sections))
    names = [T.label(h.entry, lang) for h in subjects]
    yield Text(f"**{' 与 '.join(names)}：区别**\n\n" if zh else f"**{' vs. '.join(names)}: how they differ**\n\n")
    header = "| " + ("方面" if zh else "Aspect") + " | " + " | ".join(f"{n} [{i}]" for i, n in enumerate(names, 1)) + " |"
    rows = [header, "|" + " --- |" * (len(subjects) + 1)]
    for key in ROWS:
        # Facets only as written (v2): cue sentences of an older entry would repeat across rows.
        texts = [T.definition(h.entry, lang) if key == "definition" else h.entry.facet(lang, key)
                 for h in subjects]
        if key != "definition" and sum(bool(t) for t in texts) < 2:
            continue  # a row where one side is empty compares nothing
        rows.append(f"| {ROW_NAMES['zh' if zh else 'en'][key]} | " + " | ".join(_cell(t) for t in texts) + " |")
    yield Text("\n".join(rows))
    advice = []
    for n, h in enumerate(subjects, 1):
        when, _ = T.facet(h.entry, lang, "when")
        if when:
            advice.append(f"\n- **{names[n - 1]}**{'：' if zh else ': '}{' '.join(T.sentences(when)[:2])} [{n}]")
    if advice:
        yield Text("\n\n**怎么选**" if zh else "\n\n**Which to use**")
        for line in advice:
            yield Text(line)
    yield from _relation(subjects, lang, lead="\n\n")


def _relation(subjects: list[Hit], lang: str, lead: str) -> Iterator[Event]:
    """What each entry's comparison (or, for an older entry, its later sentences) says of the others.
    `lead` empty: the answer starts here, so the entries quoted are cited in the order they appear."""
    relation, cited = [], {}
    for n, h in enumerate(subjects, 1):
        others = [o.entry for o in subjects if o is not h]
        own = T.facet(h.entry, lang, "compare")[0] or "\n".join(T.sentences(T.definition(h.entry, lang))[1:])
        found = [T.own_subject(s, h.entry, lang) for s in T.sentences(own) if any(_mentions(s, o) for o in others)][:2]
        if not found:
            continue
        if not lead:
            n = cited.setdefault(h.entry.id, len(cited) + 1)
            yield Citation(n, h, "compare" if h.entry.facet(lang, "compare") else "definition")
        relation += [f"\n- {s} [{n}]" for s in found]
    if relation:
        yield Text(f"{lead}**两者的关系**" if _zh(lang) else f"{lead}**How they relate**")
        for line in relation:
            yield Text(line)


def _mentions(sentence: str, other) -> bool:
    """Whether the sentence names the other entry, on word edges, whatever the separators
    ("fully connected layers" names "Fully-Connected Layer"; "it" does not name "IT")."""
    low = _flat(sentence)
    for name in other.names:
        key = _flat(name)
        if len(key) >= 2 and _mention_pattern(key).search(low):
            return True
    return False


@functools.lru_cache(maxsize=8192)
def _mention_pattern(key: str) -> re.Pattern:
    """Compiled once per name (more names than `re`'s own cache of 512 patterns)."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(key)}(?:e?s)?(?![a-z0-9])" if key.isascii() else re.escape(key))


def _flat(text: str) -> str:
    return re.sub(r"[\s\-_·]+", " ", text.lower()).strip()


# ---------------------------------------------------------------- no entry


def no_answer(lang: str) -> str:
    if _zh(lang):
        return "术语表里没有能回答这个问题的条目，我不会凭空编造定义。"
    return "The glossary has no entry that answers this, and I won't make one up."


def missing_text(term: str, closest: list[Hit], lang: str) -> str:
    if _zh(lang):
        text = f"术语表里没有「{term}」这个条目，我不会凭空编一个定义。"
        if closest:
            text += f"\n\n最接近的条目（不是 {term} 本身）：{_join([T.label(h.entry, lang) for h in closest], lang)}。"
        return text
    text = f"“{term}” is not in the glossary, and I won't make up a definition."
    if closest:
        text += f"\n\nClosest entries (not {term} itself): {_join([T.label(h.entry, lang) for h in closest], lang)}."
    return text


