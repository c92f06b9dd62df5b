"""Reading entries for answers: labels, sentences, facets (with a fallback for entries not yet in format v2).

An entry in corpus format v2 has a definition block and facet sections (why, how, example, values, when,
compare). An older entry has one body per language; for it, a facet is read as the body's sentences that
carry the facet's cue words ("因为", "because" for why; "例如", "e.g." for example), or nothing.
"""
from __future__ import annotations

import re

from glossarian.corpus import HEADING_OF, Entry

# Split after 。！？ and after . ! ? before a capital; never inside "(BN, 批归一化; BatchNorm)" or "e.g. x".
SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[^.][a-z0-9)\]`][.!?])\s+(?=[A-Z`\"])")
CODE_BLOCK = re.compile(r"```.*?```", re.S)
# Cue words that mark a sentence of an older, one-body entry as belonging to a facet.
CUES = {
    "why": r"因为|所以|因此|从而|使得|以便|有助于|好处|避免|防止|缓解|\bbecause\b|\bso that\b|\bhelps?\b|\bprevents?\b"
           r"|\bavoids?\b|\breduces?\b|\bimproves?\b|\bin order to\b|\bwhy\b|\bthe point\b",
    "how": r"通过|计算|公式|先|然后|再|步骤|做法|\bby\b|\bcomputes?\b|\bformula\b|\bfirst\b|\bthen\b|\bsteps?\b|=",
    "example": r"例如|比如|举例|如\s*[A-Za-z]|e\.g\.|\bfor example\b|\bsuch as\b|\bfor instance\b",
    "values": r"\d",
    "when": r"适合|适用|常用于|用于|场景|的时候|时使用|\bwhen\b|\bused (?:for|in|to)\b|\buseful\b|\bsuited\b|\bwhere\b",
    "limit": r"太大|太小|过大|过小|越大|越小|较大|较小|很大|很小|趋于|接近|更平滑|更尖锐|发散|震荡|\btoo (?:large|small|high|low)\b"
             r"|\blarger\b|\bsmaller\b|\bhigher\b|\blower\b|\bapproach|\btends? to\b|\bdiverge|\bunstable\b|\bsharper\b"
             r"|\bflatter\b|\bsmoother\b|\buniform\b",
}
CUE_RE = {k: re.compile(v, re.I) for k, v in CUES.items()}
# A sentence opening with a pronoun reads as dangling once lifted out of its entry ("它的缺点是…").
PRONOUN_START = {"zh": re.compile(r"^(?:它们|它|其|这种方法|该方法)"),
                 "en": re.compile(r"^(?:It|Its|This|They|Their)\b")}
CELL_CHARS = 140  # a table cell keeps one sentence up to this length (longer ones are cut with …)


def label(entry: Entry, lang: str) -> str:
    if entry.term_zh == entry.term_en:
        return entry.term_en
    return f"{entry.term_zh}（{entry.term_en}）" if lang == "zh" else f"{entry.term_en} ({entry.term_zh})"


def heading(key: str, lang: str) -> str:
    """The facet's heading as the corpus writes it ("为什么", "Typical values")."""
    return HEADING_OF["zh" if lang == "zh" else "en"].get(key, key)


def definition(entry: Entry, lang: str) -> str:
    return (entry.definition(lang) or entry.definition("en" if lang == "zh" else "zh") or "").strip()


def prose(text: str) -> str:
    return re.sub(r"\s+", " ", CODE_BLOCK.sub(" ", text)).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(prose(text)) if s and s.strip()]


def code_blocks(text: str) -> list[str]:
    return CODE_BLOCK.findall(text)


def own_subject(sentence: str, entry: Entry, lang: str) -> str:
    """Replace a leading pronoun by the entry's name, so the sentence stands on its own."""
    pattern = PRONOUN_START["zh" if lang == "zh" else "en"]
    m = pattern.match(sentence)
    if not m:
        return sentence
    name = entry.term_zh if lang == "zh" else entry.term_en
    possessive = m.group() in ("Its", "Their", "其")
    return (f"{name}的" if lang == "zh" and possessive else f"{name}'s " if possessive else
            name + ("" if lang == "zh" else " ")) + sentence[m.end():].lstrip()


def facet(entry: Entry, lang: str, key: str) -> tuple[str, str]:
    """(text, section) for one facet: the v2 facet itself, else the definition's cue sentences, else ('', '')."""
    text = entry.facet(lang, key).strip()
    if text:
        return text, key
    if (entry.facet_keys(lang) and key != "limit") or key not in CUE_RE:
        return "", ""  # a v2 entry without this facet has nothing for it
    found = [own_subject(s, entry, lang) for s in sentences(definition(entry, lang))[1:] if CUE_RE[key].search(s)]
    if key == "example" and not found:
        blocks = code_blocks(definition(entry, lang))
        return (blocks[0], "definition") if blocks else ("", "")
    return ("\n".join(found), "definition") if found else ("", "")


def limit_sentences(entry: Entry, lang: str) -> list[tuple[str, str]]:
    """(sentence, section) pairs that say what happens at large or small settings, from every part."""
    parts = [(definition(entry, lang), "definition")] + [(entry.facet(lang, k), k) for k in
                                                          ("values", "how", "why", "when", "compare", "example")]
    out = []
    for text, section in parts:
        for s in sentences(text):
            if CUE_RE["limit"].search(s):
                out.append((own_subject(s, entry, lang), section))
    return out


def first_sentence(text: str, limit: int = CELL_CHARS) -> str:
    found = sentences(text)
    s = found[0] if found else ""
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def cite(text: str, n: int) -> str:
    """Put [n] after each paragraph of prose; code blocks are left as they are."""
    out = []
    for part in re.split(r"(```.*?```)", text.strip(), flags=re.S):
        if part.startswith("```"):
            out.append(part)
            continue
        paras = [p.strip() for p in part.split("\n") if p.strip()]
        out.append("\n".join(f"{p} [{n}]" for p in paras))
    return "\n".join(o for o in out if o.strip())
