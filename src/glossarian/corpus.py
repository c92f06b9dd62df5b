"""The glossary corpus: read, validate and hash Markdown entries (definition, facets, `asks`).

Format v2 (see README "Corpus format"): front matter + `## 中文` + `## English`. Inside each language
section the text before the first `###` heading is the definition block (its first paragraph is the
definition); then optional facet subsections whose headings map to fixed facet keys (FACET_HEADINGS).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from glossarian.errors import CorpusError
from glossarian.lang import to_simplified

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SECTION_RE = re.compile(r"^##\s+(.+?)\s*$", re.M)
ZH_HEADINGS = {"中文", "chinese", "zh"}
EN_HEADINGS = {"english", "英文", "en"}
FACET_RE = re.compile(r"^###\s+(.+?)\s*$", re.M)
REQUIRED = ("id", "term_en", "term_zh")
LIST_FIELDS = ("aliases", "related", "tags")
# draft: what an imported entry still needs (source line, language written in, missing facets); see the importer.
KNOWN_FIELDS = set(REQUIRED) | set(LIST_FIELDS) | {"demo", "asks", "status", "draft"}
LANGS = ("zh", "en")
# Facet keys in answer order, and the one heading each takes per language (the same set in both).
FACETS = ("why", "how", "example", "values", "when", "compare")
FACET_HEADINGS = {
    "zh": {"为什么": "why", "原理": "how", "例子": "example", "常用取值": "values", "何时使用": "when", "区别": "compare"},
    "en": {"Why": "why", "How it works": "how", "Example": "example", "Typical values": "values",
           "When to use": "when", "Compared with": "compare"},
}
HEADING_OF = {lang: {key: h for h, key in table.items()} for lang, table in FACET_HEADINGS.items()}
REQUIRED_FACETS = ("why", "how", "example")   # every reviewed (non-draft) entry has these
ASKS_RANGE = (4, 8)                           # `asks` lines per language in a reviewed entry
STATUSES = ("reviewed", "draft")              # draft: imported or machine-drafted, awaiting a reviewer
# An English section that ends by naming the Chinese term ("The Chinese term is 准确率.") reads badly and
# is cited as a bullet by the composer (corpus review L1); the term belongs in the first sentence.
CHINESE_TAIL_RE = re.compile(r"(?:^|[.!?]\s+)(?:The\s+)?Chinese(?:\s+(?:term|name))?(?:\s+is|\s*:)\s*\S+?\.?\s*$", re.I)


@dataclass(frozen=True)
class Entry:
    id: str
    term_en: str
    term_zh: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    demo: str | None = None
    facets: dict = field(default_factory=dict, compare=False)    # {"zh": {"why": text, ...}, "en": {...}}
    asks: dict = field(default_factory=dict, compare=False)      # {"zh": (line, ...), "en": (...)}
    status: str = "reviewed"
    path: str = ""
    content_hash: str = ""
    field_lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Every surface form people use for this entry: both terms (and each half of a Chinese term like
        "前置任务/代理任务") and all aliases."""
        parts = [p.strip() for p in self.term_zh.split("/")] if "/" in self.term_zh else []
        return tuple(dict.fromkeys([self.term_en, self.term_zh, *[p for p in parts if len(p) >= 2], *self.aliases]))

    def definition(self, lang: str) -> str:
        """The definition block (text before the first facet heading) in `lang` ('zh' or 'en')."""
        return self.zh if lang == "zh" else self.en

    def facet(self, lang: str, key: str) -> str:
        """One facet's text in `lang`, or '' when the entry has none."""
        return self.facets.get(lang, {}).get(key, "")

    def facet_keys(self, lang: str = "en") -> tuple[str, ...]:
        """The facets this entry has, in FACETS order."""
        have = self.facets.get(lang, {})
        return tuple(k for k in FACETS if k in have)

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    def lexical_text(self) -> str:
        """The text indexed by BM25: every name, then both definitions and every facet."""
        names = " / ".join(dict.fromkeys(n for n in self.names if n))
        facets = "\n".join(t for lang in LANGS for t in self.facets.get(lang, {}).values())
        return f"{names}\n{self.zh}\n{self.en}\n{facets}".rstrip()

    def to_dict(self) -> dict:
        return {
            "id": self.id, "term_en": self.term_en, "term_zh": self.term_zh, "zh": self.zh,
            "en": self.en, "aliases": list(self.aliases), "related": list(self.related),
            "tags": list(self.tags), "demo": self.demo, "path": self.path,
            "content_hash": self.content_hash, "facets": self.facets,
            "asks": {k: list(v) for k, v in self.asks.items()}, "status": self.status,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Entry":
        return cls(
            id=d["id"], term_en=d["term_en"], term_zh=d["term_zh"], zh=d["zh"], en=d["en"],
            aliases=tuple(d.get("aliases", ())), related=tuple(d.get("related", ())),
            tags=tuple(d.get("tags", ())), demo=d.get("demo"), path=d.get("path", ""),
            content_hash=d.get("content_hash", ""), facets=d.get("facets") or {},
            asks={k: tuple(v) for k, v in (d.get("asks") or {}).items()}, status=d.get("status", "reviewed"),
        )


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    # A blocking problem makes the entry unreadable or ambiguous (the index build refuses); a content
    # problem (missing facets, too few `asks`) fails `corpus check` but the entry can still be indexed.
    blocking: bool = True

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Corpus:
    entries: list[Entry]
    problems: list[Problem]

    @property
    def blocking(self) -> list[Problem]:
        """Problems that stop an index build (unreadable or ambiguous entries)."""
        return [p for p in self.problems if p.blocking]

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}


class NotText(ValueError):
    """Bytes that are not UTF-8 text: `line` has the first NUL byte (`byte` None) or the first byte not in UTF-8."""

    def __init__(self, line: int, byte: int | None):
        super().__init__(f"line {line}: " + ("NUL byte" if byte is None else f"byte 0x{byte:02x} is not UTF-8"))
        self.line, self.byte = line, byte


def decode_text(raw: bytes) -> str:
    """UTF-8 text (a BOM dropped), or NotText. NUL bytes are checked first: UTF-16 and binary files have them."""
    if b"\x00" in raw:
        raise NotText(raw[: raw.index(b"\x00")].count(b"\n") + 1, None)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotText(raw[: exc.start].count(b"\n") + 1, raw[exc.start]) from None


def content_hash(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()[:16]


def _split_front_matter(text: str) -> tuple[str, str, int] | str:
    """Return (yaml text, body, line number where the body starts), or what is wrong."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return "file must start with a '---' line opening the YAML front matter"
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return "front matter opened with '---' is never closed by a second '---' line"


def _sections(body: str, body_line: int) -> dict[str, tuple[str, int]]:
    """Map 'zh'/'en' to (section text, line of its heading)."""
    found: dict[str, tuple[str, int]] = {}
    matches = list(SECTION_RE.finditer(body))
    for i, m in enumerate(matches):
        heading = m.group(1).strip().lower()
        key = "zh" if heading in ZH_HEADINGS else "en" if heading in EN_HEADINGS else None
        if key is None:
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        line = body_line + body[: m.start()].count("\n")
        found[key] = (body[m.end() : end].strip(), line)
    return found


def _facets(text: str, lang: str, line0: int, bad) -> tuple[str, dict[str, str]]:
    """Split one language section into its definition block and {facet key: text}; report unknown,
    repeated and empty facet headings through `bad(line, message)`."""
    matches = list(FACET_RE.finditer(text))
    definition = (text[: matches[0].start()] if matches else text).strip()
    table = FACET_HEADINGS[lang]
    facets: dict[str, str] = {}
    for i, m in enumerate(matches):
        heading = m.group(1).strip()
        line = line0 + text[: m.start()].count("\n") + 1
        key = table.get(heading)
        if key is None:
            known = ", ".join(f"'### {h}'" for h in table)
            bad(line, f"unknown facet heading '### {heading}' in the {'中文' if lang == 'zh' else 'English'} "
                      f"section (use one of: {known})")
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[m.end() : end].strip()
        if key in facets:
            bad(line, f"facet '### {heading}' appears twice in one section")
        elif not body:
            bad(line, f"facet '### {heading}' is empty")
        else:
            facets[key] = body
    return definition, facets


def _asks(value, bad, line: int) -> dict[str, tuple[str, ...]]:
    """`asks: {zh: [...], en: [...]}` → {"zh": (...), "en": (...)}; shape problems reported."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - set(LANGS):
        bad(line, "field 'asks' must map zh and en to lists of questions, like asks: {zh: [...], en: [...]}")
        return {}
    out = {}
    for lang in LANGS:
        items = value.get(lang) or []
        if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
            bad(line, f"asks.{lang} must be a list of non-empty strings")
            continue
        out[lang] = tuple(dict.fromkeys(x.strip() for x in items))
    return out


def parse_entry(path: Path, root: Path | None = None) -> tuple[Entry | None, list[Problem]]:
    """Parse one file. Returns the entry (None if unusable) and every problem found in it."""
    shown = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    problems: list[Problem] = []

    def bad(line: int, message: str) -> None:
        problems.append(Problem(shown, line, message))

    def incomplete(line: int, message: str) -> None:
        problems.append(Problem(shown, line, message, blocking=False))

    try:
        text = decode_text(path.read_bytes())
    except NotText as exc:
        bad(exc.line, "contains NUL bytes; this is not a text file" if exc.byte is None
            else f"not valid UTF-8 (byte 0x{exc.byte:02x}); save the file as UTF-8")
        return None, problems
    split = _split_front_matter(text)
    if isinstance(split, str):
        bad(1, split)
        return None, problems
    meta_text, body, body_line = split
    try:
        meta = yaml.safe_load(meta_text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark else 2
        bad(line, f"invalid YAML in front matter: {getattr(exc, 'problem', None) or exc}")
        return None, problems
    if not isinstance(meta, dict):
        bad(2, "front matter must be a YAML mapping of fields (id: ..., term_en: ...)")
        return None, problems

    meta_lines = meta_text.split("\n")

    def line_of(key: str) -> int:
        for i, ln in enumerate(meta_lines):
            if re.match(rf"^{re.escape(key)}\s*:", ln):
                return i + 2
        return 1

    for key in REQUIRED:
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            bad(line_of(key), f"required field '{key}' is missing or empty (must be a string)")
    for key in LIST_FIELDS:
        value = meta.get(key, [])
        if value is None:
            meta[key] = []
        elif not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            bad(line_of(key), f"field '{key}' must be a list of strings, like [a, b]")
            meta[key] = []
    for key in sorted(set(meta) - KNOWN_FIELDS, key=str):
        bad(line_of(str(key)), f"unknown field '{key}' (known: {', '.join(sorted(KNOWN_FIELDS))})")
    demo = meta.get("demo")
    if demo is not None and not isinstance(demo, str):
        bad(line_of("demo"), "field 'demo' must be a tool name (a string)")
        demo = None

    entry_id = meta.get("id") if isinstance(meta.get("id"), str) else ""
    if entry_id and not ID_RE.match(entry_id):
        bad(line_of("id"), f"id '{entry_id}' must be a lowercase slug with hyphens, like 'global-average-pooling'")
    if entry_id and entry_id != path.stem:
        bad(line_of("id"), f"id '{entry_id}' does not match the file name '{path.name}' (rename one of them)")

    status = meta.get("status", "reviewed")
    if status not in STATUSES:
        bad(line_of("status"), f"field 'status' must be one of: {', '.join(STATUSES)}")
        status = "draft"
    asks = _asks(meta.get("asks"), bad, line_of("asks"))

    sections = _sections(body, body_line)
    texts: dict[str, str] = {}
    facets: dict[str, dict[str, str]] = {}
    for key, heading in (("zh", "## 中文"), ("en", "## English")):
        if key not in sections:
            bad(body_line, f"missing section '{heading}'")
            continue
        texts[key], facets[key] = _facets(sections[key][0], key, sections[key][1], bad)
        if not texts[key]:
            bad(sections[key][1], f"section '{heading}' has no definition before its first facet heading"
                if facets[key] else f"section '{heading}' is empty")
    if texts.get("en") and CHINESE_TAIL_RE.search(texts["en"]):
        incomplete(sections["en"][1], "the English definition ends by naming the Chinese term; give it in the first "
                               "sentence instead, e.g. 'Accuracy (准确率) is ...'")
    if status != "draft" and len(facets) == 2:
        zh_keys, en_keys = set(facets["zh"]), set(facets["en"])
        for k in sorted(zh_keys ^ en_keys, key=FACETS.index):
            have, miss = ("中文", "English") if k in zh_keys else ("English", "中文")
            incomplete(sections["en" if k in zh_keys else "zh"][1],
                f"facet '{k}' is in the {have} section but not in the {miss} section "
                f"(add '### {HEADING_OF['en' if k in zh_keys else 'zh'][k]}')")
        for k in REQUIRED_FACETS:
            if k not in zh_keys and k not in en_keys:
                incomplete(body_line, f"facet '{k}' is missing (every reviewed entry has {', '.join(REQUIRED_FACETS)}; "
                               f"add '### {HEADING_OF['zh'][k]}' and '### {HEADING_OF['en'][k]}', or mark "
                               f"the entry 'status: draft')")
        lo, hi = ASKS_RANGE
        for lang in LANGS:
            n = len(asks.get(lang, ()))
            if not lo <= n <= hi:
                incomplete(line_of("asks"), f"asks.{lang} has {n} lines; a reviewed entry has {lo}-{hi} ways people ask "
                                     f"for it without knowing its name")

    if any(p.message.startswith(("required", "missing section", "id '")) for p in problems):
        return None, problems
    entry = Entry(
        id=entry_id,
        term_en=meta["term_en"].strip(),
        term_zh=meta["term_zh"].strip(),
        zh=texts.get("zh", ""),
        en=texts.get("en", ""),
        # Questions are matched in Simplified script (lang.to_simplified), so an alias written in Traditional
        # characters (a Taiwan name, 批次正規化) is kept in Simplified script or it could never match.
        aliases=tuple(dict.fromkeys(to_simplified(str(a).strip()) for a in meta.get("aliases", []) if str(a).strip())),
        related=tuple(str(r).strip() for r in meta.get("related", [])),
        tags=tuple(str(t).strip() for t in meta.get("tags", [])),
        demo=demo.strip() if demo else None,
        facets=facets,
        asks=asks,
        status=status,
        path=shown,
        content_hash=content_hash(text),
        field_lines={k: line_of(k) for k in ("id", "aliases", "related", "demo")},
    )
    return entry, problems


def load_corpus(directory: Path) -> Corpus:
    """Read every `*.md` entry under `directory`. Problems are collected, never raised."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError(f"Corpus folder {directory} does not exist.",
                          "Pass --corpus DIR or set GLOSSARIAN_CORPUS to a folder of entry files.")
    entries: list[Entry] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        entry, found = parse_entry(path, directory)
        problems.extend(found)
        if entry is not None:
            entries.append(entry)
    return Corpus(entries, problems)


def check_corpus(corpus: Corpus, tool_names: set[str] | None = None) -> list[Problem]:
    """Cross-entry checks on top of per-file problems: duplicate ids and aliases, dangling links, unknown demos."""
    problems = list(corpus.problems)
    seen_ids: dict[str, Entry] = {}
    owner: dict[str, Entry] = {}
    for e in corpus.entries:
        if e.id in seen_ids:
            problems.append(Problem(e.path, e.field_lines.get("id", 1),
                                    f"duplicate id '{e.id}' (also in {seen_ids[e.id].path})"))
        seen_ids[e.id] = e
    for e in corpus.entries:
        for name in dict.fromkeys(n.casefold() for n in e.names):
            other = owner.get(name)
            if other is not None and other.id != e.id:
                problems.append(Problem(e.path, e.field_lines.get("aliases", 1),
                                        f"alias or term '{name}' is also claimed by {other.path}"))
            else:
                owner[name] = e
        for rel in e.related:
            if rel not in seen_ids:
                problems.append(Problem(e.path, e.field_lines.get("related", 1),
                                        f"related id '{rel}' does not exist in the corpus"))
            elif rel == e.id:
                problems.append(Problem(e.path, e.field_lines.get("related", 1), "an entry cannot relate to itself"))
        if e.demo and tool_names is not None and e.demo not in tool_names:
            problems.append(Problem(e.path, e.field_lines.get("demo", 1),
                                    f"unknown demo tool '{e.demo}' (known: {', '.join(sorted(tool_names))})"))
    return sorted(problems, key=lambda p: (p.path, p.line))
