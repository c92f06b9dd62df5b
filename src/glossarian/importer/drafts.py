"""Turn one term block into draft entries (names, id, definition Markdown) and render them in corpus format v2.

A draft has `status: draft` and a `draft:` field in its front matter: where it came from, the language its
definition is written in, whether the other language is a placeholder or a machine draft, and the facets it
still needs (corpus.REQUIRED_FACETS). Drafts are exempt from the facet and `asks` minimums of `corpus check`.
"""
from __future__ import annotations

import hashlib
import re
import textwrap
import unicodedata
from dataclasses import dataclass, field

import yaml

from glossarian.corpus import ID_RE, REQUIRED_FACETS
from glossarian.importer.segment import Block, is_code_line
from glossarian.lang import CJK_RE as CJK

PAIR_EN = re.compile(r"\s+(?:and|vs\.?|VS)\s+|\s*&\s*")
PAIR_ZH = re.compile(r"以及|和|与|及|、")
ABBREVIATION = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Z0-9]{2,8}s?$")
EN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .'+\-_/·]*")
CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
PARENS = re.compile(r"[（(]([^（）()]+)[）)]")
LANG_NAME = {"zh": "中文", "en": "English"}


@dataclass(frozen=True)
class Draft:
    """One entry to write: names, links, and the definition in the language it was written in (`lang`)."""
    id: str
    term_en: str
    term_zh: str
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    text: str
    lang: str = "zh"
    line: int = 0
    placeholder_id: bool = False
    zh_guessed: bool = False  # term_zh read from the definition's opening ("骨干网络，指……"), not from the term line
    machine: str = ""  # the other language's definition drafted by an LLM, when --translate ran
    machine_model: str = ""

    @property
    def other(self) -> str:
        return "en" if self.lang == "zh" else "zh"

    @property
    def missing_facets(self) -> tuple[str, ...]:
        return REQUIRED_FACETS  # an import carries no facet sections yet

    @property
    def names(self) -> tuple[str, ...]:
        return (self.term_en, self.term_zh, *self.aliases)


@dataclass
class _Names:
    en: str
    zh: str
    aliases: list[str] = field(default_factory=list)


def _items(term: str) -> tuple[list[str], list[str]]:
    """English and Chinese names in a term, pairs split: 'A 和B 甲和乙' -> ([A, B], [甲, 乙])."""
    en: list[str] = []
    for run in EN_RUN.findall(term):
        en += [p.strip(" .-_·'") for p in PAIR_EN.split(run) if p.strip(" .-_·'")]
    zh: list[str] = []
    for run in CJK_RUN.findall(term):
        if PAIR_ZH.fullmatch(run):
            continue  # the connector between two English names
        parts = [p for p in PAIR_ZH.split(run) if p]
        zh += parts if len(parts) > 1 and all(len(p) >= 2 for p in parts) else [run]
    return en, zh


def parse_term(term: str) -> tuple[list[_Names], str | None]:
    """One _Names per entry the term names (two for a pair), and a note when names could not be matched."""
    term = unicodedata.normalize("NFKC", term).strip()
    # "Softmax函数", "Dropout层": a one- or two-character Chinese suffix on an English word is one Chinese term.
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9\-]*)\s*([\u3400-\u9fff]{1,2})", term)
    if m:
        return [_Names(m.group(1), term)], None
    bare = PARENS.sub(" ", term)
    en, zh = _items(bare)
    if len(en) + len(zh) > 2 or len(en) > 1 or len(zh) > 1:
        en, zh = _items(re.sub(r"[（）()]", " ", term))  # a pair: parentheses are just more names
        extra = []
    else:
        extra = PARENS.findall(term)
    note = None
    if len(en) >= 2 and len(zh) in (0, len(en)):
        names = [_Names(e, zh[i] if zh else e) for i, e in enumerate(en)]
    elif not en and len(zh) >= 2:
        names = [_Names(z, z) for z in zh]
    elif len(en) >= 2:
        names = [_Names(e, e) for e in en]
        note = f"could not match the Chinese names {zh} to the English terms {en}; set term_zh by hand"
    else:
        names = [_Names(en[0] if en else "", "和".join(zh) if zh else "")]
    if len(names) == 1:
        n = names[0]
        for alias in (a.strip() for a in extra):
            if CJK.search(alias) and not n.zh:
                n.zh = alias
            elif not CJK.search(alias) and not n.en:
                n.en = alias
            elif alias not in (n.en, n.zh):
                n.aliases.append(alias)
    for n in names:
        n.en, n.zh = n.en or n.zh, n.zh or n.en
        if ABBREVIATION.match(n.en) and n.en not in n.aliases:
            n.aliases.append(n.en)
    return names, note


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def entry_id(names: _Names) -> tuple[str, bool]:
    """(id, is_placeholder): the slug of the English term, or term-<sha1> when there is no English."""
    s = slug(names.en) if re.search(r"[A-Za-z]", names.en) else ""
    if s and ID_RE.match(s):
        return s, False
    return "term-" + hashlib.sha1(names.zh.encode("utf-8")).hexdigest()[:8], True


def definition_markdown(lines: list[str]) -> str:
    """Definition lines as Markdown: prose kept line by line, code (and printed output) in ```python fences."""
    out: list[str] = []
    code: list[str] = []
    in_fence = False
    after_code = False  # a non-Chinese line right under code is its printed output ("Epoch 1: loss 0.93")

    def flush() -> None:
        while code and not code[-1].strip():
            code.pop()
        if code:
            out.extend(["", "```python", *textwrap.dedent("\n".join(code)).split("\n"), "```", ""])
        code.clear()

    for i, ln in enumerate(lines):
        ln = ln.rstrip()
        if ln.strip().startswith("```"):
            in_fence = not in_fence
            continue
        following = next((x for x in lines[i + 1:] if x.strip()), "")
        comment = ln.strip().startswith("#") and (after_code or is_code_line(following))
        if in_fence or is_code_line(ln) or comment or (after_code and ln.strip() and not CJK.search(ln)):
            code.append(ln)
            after_code = True
            continue
        after_code = False
        if not ln.strip():
            if code:
                code.append("")
            else:
                out.append("")
        else:
            flush()
            out.append(ln.strip("\u3000 \t"))
    flush()
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", _escape_headings(text)).strip()


def _escape_headings(text: str) -> str:
    """Indent lines starting "## " or "### " by one space: they would end the section or open a facet when parsed."""
    return "\n".join(" " + ln if re.match(r"^#{2,}\s", ln) else ln for ln in text.split("\n"))


def _leading_zh_name(definition: str) -> str | None:
    """'骨干网络，指……' -> '骨干网络': a definition that opens by naming the term in Chinese."""
    m = re.match(r"^([\u3400-\u9fff]{2,8})[，,（(：:]", definition)
    if m and not re.search(r"[的是在里时把被将对从即指这那该其]", m.group(1)):
        return m.group(1)
    return None


def source_language(lines: list[str]) -> str:
    """'zh' when the definition's prose (code aside) is Chinese, 'en' when it is English."""
    prose = " ".join(ln for ln in lines if ln.strip() and not is_code_line(ln))
    return "zh" if len(CJK.findall(prose)) >= len(re.findall(r"[A-Za-z]+", prose)) else "en"


def drafts_for(block: Block) -> tuple[list[Draft], str | None]:
    names, note = parse_term(block.term or "")
    text = definition_markdown(block.lines)
    lang = source_language(block.lines)
    guessed = len(names) == 1 and not CJK.search(names[0].zh) and _leading_zh_name(text)
    if guessed:
        names[0].zh = guessed
    ids = [entry_id(n) for n in names]
    drafts = []
    for n, (eid, placeholder) in zip(names, ids):
        related = tuple(dict.fromkeys(i for i, _ in ids if i != eid))
        drafts.append(Draft(eid, n.en, n.zh, tuple(n.aliases), related, text, lang, block.line, placeholder,
                            zh_guessed=bool(guessed)))
    return drafts, note


def placeholder(lang: str, source_name: str) -> str:
    """The visible line standing in for a definition nobody has written yet."""
    if lang == "en":
        return f"DRAFT — English definition to be written (imported from {source_name})."
    return f"草稿——中文定义待写（从 {source_name} 导入）。"


def machine_mark(lang: str, model: str) -> str:
    """The line under a machine-drafted definition, kept until a reviewer has checked it."""
    if lang == "en":
        return f"_Machine draft ({model}, translated from the Chinese definition): review it before relying on it._"
    return f"_机器草稿（{model} 根据英文定义翻译）：请审校后再使用。_"


def draft_field(draft: Draft, source_name: str) -> dict:
    """The `draft:` front-matter field: what a reviewer still has to do."""
    return {"source": f"{source_name}:{draft.line}", "written_in": draft.lang,
            draft.other: f"machine draft ({draft.machine_model})" if draft.machine else "placeholder",
            "missing_facets": list(draft.missing_facets)}


def render(draft: Draft, source_name: str) -> str:
    meta = {"id": draft.id, "term_en": draft.term_en, "term_zh": draft.term_zh, "aliases": list(draft.aliases),
            "related": list(draft.related), "status": "draft", "draft": draft_field(draft, source_name)}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None, width=10_000)
    other = (f"{_escape_headings(draft.machine.strip())}\n\n{machine_mark(draft.other, draft.machine_model)}"
             if draft.machine else placeholder(draft.other, source_name))
    body = {draft.lang: draft.text, draft.other: other}
    return f"---\n{front}---\n\n## 中文\n{body['zh']}\n\n## English\n{body['en']}\n"

