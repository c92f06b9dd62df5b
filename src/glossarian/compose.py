"""The offline answer engine: a cited answer composed only from retrieved entries (and tool results).

Kinds of answer: one term (definition, key points, related terms); several terms ("A 和 B 分别是什么",
each defined); a contrast ("how does A differ from B", both side by side plus what each entry says of
the other); no answer (says so, suggests the nearest terms). Every sentence comes from an entry and
carries that entry's citation number; citations index `sources`, which holds only retrieved entries.
"""
from __future__ import annotations

import re
from typing import Iterator

from glossarian.corpus import Entry
from glossarian.retrieval import Hit, Retrieval

CONTRAST = re.compile(r"区别|不同|差别|差异|对比|比较|有何异同|\bvs\.?\b|versus|differ|difference|compare|contrast"
                      r"|distinguish", re.I)
# Split after 。！？ and after . ! ? before a capital; never inside "(BN, 批归一化; BatchNorm)" or "e.g. x".
SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[^.][a-z0-9)\]`][.!?])\s+(?=[A-Z`\"])")
CODE_BLOCK = re.compile(r"```.*?```", re.S)


def label(entry: Entry, lang: str) -> str:
    if entry.term_zh == entry.term_en:
        return entry.term_en
    return f"{entry.term_zh}（{entry.term_en}）" if lang == "zh" else f"{entry.term_en} ({entry.term_zh})"


def body(entry: Entry, lang: str) -> str:
    text = entry.zh if lang == "zh" else entry.en
    return (text or entry.en or entry.zh).strip()


def prose(entry: Entry, lang: str) -> str:
    return re.sub(r"\s+", " ", CODE_BLOCK.sub(" ", body(entry, lang))).strip()


def sentences(entry: Entry, lang: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(prose(entry, lang)) if s and s.strip()]


def code_blocks(entry: Entry, lang: str) -> list[str]:
    return CODE_BLOCK.findall(body(entry, lang))


def lead(entry: Entry, lang: str, count: int = 2) -> str:
    """The opening sentences: the definition itself."""
    return ("" if lang == "zh" else " ").join(sentences(entry, lang)[:count])


def mentions(sentence: str, other: Entry) -> bool:
    low = sentence.lower()
    return any(len(n) >= 2 and n.lower() in low for n in other.names)


def no_answer(lang: str, nearest: list[Hit]) -> str:
    names = ("、" if lang == "zh" else ", ").join(label(h.entry, lang) for h in nearest[:3])
    if lang == "zh":
        text = "术语表里没有能回答这个问题的条目，我不会凭空编造定义。"
        return text + (f"\n\n相近的术语有：{names}。如果你问的是其中之一，可以直接问它。" if names else "")
    text = "The glossary has no entry that answers this, and I won't make one up."
    return text + (f"\n\nThe nearest terms it does have: {names}. Ask about one of them if that is what you meant."
                   if names else "")


def choose_subjects(retrieval: Retrieval, question: str) -> list[Hit]:
    """Which retrieved entries the answer is about: every named one for multi-term questions, else the best."""
    named = [h for h in retrieval.hits if h.exact]
    if len(named) >= 2:  # in the order the question names them
        position = {id_: n for n, id_ in enumerate(retrieval.named)}
        return sorted(named, key=lambda h: position.get(h.entry.id, len(position)))[:4]
    return retrieval.hits[:1]


def compose(retrieval: Retrieval, question: str, lang: str, entries: dict[str, Entry],
            subjects: list[Hit] | None = None) -> Iterator[tuple[str, list[Hit]]]:
    """Yield (text chunk, sources cited so far)."""
    if retrieval.abstained or not retrieval.hits:
        yield no_answer(lang, retrieval.nearest), []
        return
    subjects = subjects or choose_subjects(retrieval, question)
    sources = list(subjects)
    if len(subjects) >= 2 and CONTRAST.search(question):
        yield from _contrast(subjects, lang, sources)
    elif len(subjects) >= 2:
        colon = "：" if lang == "zh" else ": "
        for n, h in enumerate(subjects, 1):
            sep = "\n\n" if n > 1 else ""
            yield f"{sep}**{label(h.entry, lang)}** [{n}]{colon}{lead(h.entry, lang)}", sources
    else:
        yield from _single(subjects[0], lang, sources)
    related = _related(subjects, entries)
    if related:
        head = "\n\n相关术语：" if lang == "zh" else "\n\nRelated terms: "
        yield head + ("、" if lang == "zh" else ", ").join(label(e, lang) for e in related[:6]), sources


def _single(h: Hit, lang: str, sources: list[Hit]) -> Iterator[tuple[str, list[Hit]]]:
    sent = sentences(h.entry, lang)
    yield f"**{label(h.entry, lang)}** [1]\n\n{sent[0] if sent else ''}", sources
    if len(sent) > 1:
        head = "\n\n要点：" if lang == "zh" else "\n\nKey points:"
        yield head, sources
        for s in sent[1:]:
            yield f"\n- {s} [1]", sources
    for block in code_blocks(h.entry, lang)[:1]:
        yield f"\n\n{block}", sources


def _contrast(subjects: list[Hit], lang: str, sources: list[Hit]) -> Iterator[tuple[str, list[Hit]]]:
    a, b = subjects[0], subjects[1]
    names = f"{label(a.entry, lang)} 与 {label(b.entry, lang)}" if lang == "zh" else \
        f"{label(a.entry, lang)} vs. {label(b.entry, lang)}"
    yield (f"**{names}**" + ("：两者的区别如下。" if lang == "zh" else ": how they differ.")), sources
    colon = "：" if lang == "zh" else ": "
    for n, h in enumerate(subjects[:2], 1):
        yield f"\n\n- **{label(h.entry, lang)}** [{n}]{colon}{lead(h.entry, lang)}", sources
    cross = []
    for n, (h, other) in enumerate(((a, b), (b, a)), 1):
        cross += [f"{s} [{n}]" for s in sentences(h.entry, lang)[2:] if mentions(s, other.entry)][:2]
    if cross:
        yield ("\n\n两者的关系：" if lang == "zh" else "\n\nHow they relate:"), sources
        for s in cross:
            yield f"\n- {s}", sources


def _related(subjects: list[Hit], entries: dict[str, Entry]) -> list[Entry]:
    chosen = {h.entry.id for h in subjects}
    out: list[Entry] = []
    for h in subjects:
        for rid in h.entry.related:
            e = entries.get(rid)
            if e is not None and e.id not in chosen and e not in out:
                out.append(e)
    return out


def tool_text(result, lang: str, defaulted: list[str]) -> str:
    """The tool's summary, plus a note when arguments came from the glossary's example."""
    text = result.summary.get(lang) or result.summary.get("en", "")
    if defaulted:
        args = ", ".join(f"{k}={result.arguments.get(k)}" for k in defaulted)
        text += (f"\n\n（问题里没有给出 {', '.join(defaulted)}，用的是术语表里的示例值：{args}。）" if lang == "zh"
                 else f"\n\n(The question did not give {', '.join(defaulted)}, so the glossary's example was used: {args}.)")
    return text


def tool_error_text(message: str, lang: str) -> str:
    return (f"计算没有运行：{message}" if lang == "zh" else f"The computation did not run: {message}")
