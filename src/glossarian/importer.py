"""Turn a plain-text glossary ("term：定义" paragraphs) into draft corpus entries, reporting what was skipped and why."""
from __future__ import annotations

import hashlib
import re
import textwrap
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from glossarian.corpus import ID_RE, load_corpus
from glossarian.errors import CorpusError
from glossarian.lang import CJK_RE as CJK
from glossarian.names import name_key

MAX_TERM = 40
FORMAT_HINT = "Each entry must start with a line like 'backbone：骨干网络是……' (term, colon, Chinese definition)."
TAIL_HEADING = re.compile(
    r"^\s*(?:#+\s*)?(相关文章|相关推荐|推荐阅读|相关阅读|延伸阅读|猜你喜欢|related (?:articles|posts|reading))\s*[:：]?\s*$",
    re.I)
# Lead-ins that introduce part of a definition ("例如：…", "Output: …"), never a new term.
LEAD_INS = {
    "例如", "比如", "举例", "例子", "示例", "例", "注", "注意", "备注", "提示", "代码", "代码如下", "代码示例", "输出",
    "输出结果", "结果", "运行结果", "公式", "其中", "即", "原因", "优点", "缺点", "作用", "区别", "总结", "用法", "参考",
    "来源", "出处", "链接", "原文", "原文链接", "输入", "说明", "解释", "补充", "步骤", "e.g", "eg", "i.e", "note",
    "output", "out", "input", "result", "example", "code", "see", "ps", "tip",
}
PY_KEYWORD = re.compile(r"^(?:def|class|for|while|if|elif|else|with|try|except|return|lambda|from|print|assert"
                        r"|raise)\b")
BAD_TERM_CHARS = re.compile(r"[=\[\]{}<>\"'`#@$%^*|\\;；。，,！!？?]")
CODE_START = re.compile(
    r"^(?:>>>|\.\.\.(?:\s|$)|import\s|from\s+[\w.]+\s+import\s|def\s|class\s|return\b|for\s|while\s|if\s|elif\s"
    r"|else\s*:|with\s|try\s*:|except\b|assert\s|raise\s|yield\b|lambda\b|@\w)")
# "阅读 1.2k", "点赞 52", "3.4k 阅读" — but not "阅读 3 篇论文" or "2 views of one image" inside a definition.
COUNTS = re.compile(r"(?:阅读|浏览|点赞|评论|收藏|转发|views|likes|comments)\s*[数量]?\s*[:：]?\s*\d[\d.,]*\s*[kKwW万千]?"
                    r"(?![\d.,kKwW万千])(?!\s*[篇条次个本章节页种层位名行])"
                    r"|\d[\d.,]*\s*[kKwW万千]?\s*(?:次阅读|人阅读|阅读|浏览|点赞|评论|收藏|人看过)", re.I)
_DATE = r"(?<!\d)(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}日?(?!\d)"
# A listing's date line ("2023-08-14 发布于 …"), not a date mentioned inside a definition.
DATE = re.compile(rf"^\s*{_DATE}|{_DATE}\s*(?:发布于|发表于|更新于|posted|published)", re.I)
URL = re.compile(r"https?://\S+|www\.\S+")
PAIR_EN = re.compile(r"\s+(?:and|vs\.?|VS)\s+|\s*&\s*")
PAIR_ZH = re.compile(r"以及|和|与|及|、")
ABBREVIATION = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Z0-9]{2,8}s?$")
EN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .'+\-_/·]*")
CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
PARENS = re.compile(r"[（(]([^（）()]+)[）)]")


@dataclass
class Block:
    """One stretch of the source: a term with its definition lines, or material to skip (skip = the reason)."""
    line: int
    text: str  # the first line, for the report
    term: str | None = None
    lines: list[str] = field(default_factory=list)
    skip: str | None = None


@dataclass(frozen=True)
class Draft:
    id: str
    term_en: str
    term_zh: str
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    zh: str
    placeholder_id: bool = False


@dataclass(frozen=True)
class Written:
    id: str
    path: Path
    term: str
    line: int


@dataclass(frozen=True)
class Skipped:
    excerpt: str
    reason: str
    line: int


@dataclass
class ImportReport:
    source: Path
    created: list[Written] = field(default_factory=list)
    overwritten: list[Written] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        events = [(w.line, f"created {_shown(w.path)} ({w.term})") for w in self.created]
        events += [(w.line, f"overwritten {_shown(w.path)} ({w.term})") for w in self.overwritten]
        events += [(s.line, f"skipped: '{s.excerpt}' — {s.reason}") for s in self.skipped]
        out = [text for _, text in sorted(events, key=lambda e: e[0])]
        out += [f"note: {n}" for n in self.notes]
        out.append(f"{len(self.created)} created, {len(self.overwritten)} overwritten, {len(self.skipped)} skipped "
                   f"from {self.source.name}.")
        if self.created or self.overwritten:
            out.append("Next: write each draft's '## English' section, then run `glossarian corpus check`.")
        return out


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 40 else text[:40] + "…"


# ---- reading and splitting ------------------------------------------------------------------------

def read_glossary(file: Path) -> str:
    """The file as text, or a CorpusError saying why it cannot be imported."""
    file = Path(file)
    if not file.exists():
        raise CorpusError(f"{file} does not exist.", "Check the path of the plain-text glossary to import.")
    if file.is_dir():
        raise CorpusError(f"{file} is a folder, not a glossary file.", "Pass one plain-text file (.txt).")
    raw = file.read_bytes()
    if b"\x00" in raw:
        raise CorpusError(f"{file} looks like a binary file (it contains NUL bytes), not plain text.",
                          "Export or save the glossary as UTF-8 plain text (.txt) and import that.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{file} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}).",
                          f"Save it as UTF-8, e.g. `iconv -f GBK -t UTF-8 {file.name} > glossary-utf8.txt`.") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_code_line(line: str) -> bool:
    """A line of Python, a REPL prompt or printed output (tensors, arrays) rather than prose."""
    stripped = line.strip()
    if not stripped:
        return False
    if stripped.startswith(">>>"):
        return True
    if stripped.startswith("#"):  # a comment; one in Chinese counts as code only next to code (definition_markdown)
        return not CJK.search(stripped)
    code_part = stripped.split("#", 1)[0]  # a trailing comment may be Chinese
    if CJK.search(code_part):
        return False
    if line[0] in " \t":
        return True
    return bool(CODE_START.match(stripped)
                or re.match(r"^[\w.\[\]]+\s*(?::\s*[\w.\[\], ]+)?\s*[+\-*/]?=(?!=)", stripped)  # x = 1, x: int = 1
                or re.match(r"^[\w.]+\(", stripped)  # call, or printed tensor([...])
                or re.match(r"^[\[\]{}()]", stripped)
                or (re.fullmatch(r"[\d\s.,eE+\-\[\]()]+", stripped) and re.search(r"\d", stripped)))


def term_line(line: str, para_start: bool, next_line: str = "") -> tuple[str, str] | None:
    """(term, rest) when `line` opens a new entry ("热身Warm up：…"), else None.

    A line that starts a paragraph may carry an English or empty rest ("backbone:" then the definition
    below, not code: "示例代码：" introduces code); inside a paragraph the rest must be Chinese, so
    "Epoch 1: loss 0.5" stays continuation.
    """
    if not line or line[0] in " \t" or line.lstrip().startswith(">>>"):
        return None
    m = re.match(r"^([^:：]+)[:：](.*)$", line.strip("\u3000\ufeff \t"))
    if not m:
        return None
    term, rest = m.group(1).strip(), m.group(2).strip()
    # A pair ("domain adaptation 和domain generalization 域适应和域泛化") may be twice as long as one term.
    limit = MAX_TERM * 2 if re.search(r"和|与|及|、|\sand\s|&", term) else MAX_TERM
    if not term or len(term) > limit or rest.startswith(("//", ":")):
        return None
    if (BAD_TERM_CHARS.search(term) or re.search(r"[\w.]\(", term) or re.search(r"\bimport\b", term)
            or PY_KEYWORD.match(term) or not re.search(r"[A-Za-z\u3400-\u9fff]", term)):
        return None
    if (term.isascii() and len(term) < 2) or term.casefold().rstrip(".") in LEAD_INS:
        return None
    if not rest and (not para_start or not next_line.strip() or is_code_line(next_line)):
        return None
    if rest and not CJK.search(rest) and (not para_start or re.search(r"=|->|^[\[{(]|\w\(", rest)):
        return None
    return term, rest


def _noise(lines: list[str]) -> str | None:
    """Why these lines look like an article listing rather than a definition, or None."""
    prose = [ln for ln in lines if ln.strip() and not is_code_line(ln)]
    if any(COUNTS.search(ln) for ln in prose):
        return "looks like an article listing (view/like/comment counts), not a definition"
    if any(DATE.search(ln) for ln in prose):
        return "looks like an article listing (has a date), not a definition"
    if prose and all(not URL.sub("", ln).strip(" \t:：-—|·") for ln in prose):
        return "only a link, not a definition"
    return None


def _is_title(para: list[str]) -> bool:
    text = para[0].strip().lstrip("#").strip()
    return (len(para) == 1 and 0 < len(text) <= MAX_TERM and not re.search(r"[。，；！？,;!?：:]", text)
            and (para[0].lstrip().startswith("#") or not is_code_line(para[0])))


def _tail_items(lines: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Tail material split into items: at blank lines, and after a line of view/like counts (an item's last line)."""
    items, cur = [], []
    for no, ln in lines:
        if ln.strip():
            cur.append((no, ln))
        if cur and (not ln.strip() or COUNTS.search(ln)):
            items.append(cur)
            cur = []
    return items + ([cur] if cur else [])


def split_blocks(text: str) -> list[Block]:
    """Split the glossary into term blocks and skipped blocks, in file order."""
    lines = text.split("\n")
    tail_at = None
    in_fence = False
    for i, ln in enumerate(lines):
        if ln.strip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and TAIL_HEADING.match(ln):
            tail_at = i
            break
    body = lines if tail_at is None else lines[:tail_at]

    # Paragraphs (blank-line separated, user fences kept whole), each cut again at every term line.
    segments: list[tuple[int, tuple[str, str] | None, list[str]]] = []  # (line no, (term, rest) or None, lines)
    in_fence, para_start = False, True
    for no, ln in enumerate(body, 1):
        fence = ln.strip().startswith("```")
        nxt = body[no] if no < len(body) else ""
        if not in_fence and not fence and not ln.strip():
            para_start = True
            if segments:
                segments[-1][2].append("")
            continue
        parsed = None if in_fence or fence else term_line(ln, para_start, nxt)
        if parsed or para_start or not segments:
            segments.append((no, parsed, [ln]))
        else:
            segments[-1][2].append(ln)
        if fence:
            in_fence = not in_fence
        para_start = False

    blocks: list[Block] = []
    current: Block | None = None
    for k, (no, parsed, seg) in enumerate(segments):
        content = [ln for ln in seg if ln.strip()]
        if parsed:
            term, rest = parsed
            current = Block(no, seg[0], term, [rest] + seg[1:] if rest else seg[1:])
            blocks.append(current)
            continue
        next_is_term = k + 1 == len(segments) or segments[k + 1][1] is not None
        reason = _noise(content)
        if reason is None and _is_title(content) and next_is_term:
            reason = "a title with no 'term: definition' line"
        if reason is None and current is None:
            reason = ("not under any 'term: definition' line (it follows skipped material)" if blocks
                      else "no 'term: definition' line (text before the first entry)")
        if reason is None:
            current.lines.extend(seg)  # type: ignore[union-attr]
        else:
            blocks.append(Block(no, content[0], skip=reason))
            current = None  # what follows skipped material is not part of the earlier definition

    for b in blocks:
        if b.term is not None and b.skip is None:
            b.skip = _noise(b.lines) or _noise([b.text])
            if b.skip is None and not any(ln.strip() for ln in b.lines):
                b.skip = "no definition after the colon"

    if tail_at is not None:
        heading = lines[tail_at].strip().lstrip("#").strip().rstrip(":：")
        blocks.append(Block(tail_at + 1, lines[tail_at], skip=f"'{heading}' heading: nothing after it is imported"))
        tail = [(n, ln) for n, ln in enumerate(lines[tail_at + 1:], tail_at + 2)]
        for item in _tail_items(tail):
            signal = _noise([ln for _, ln in item])
            why = f"after the '{heading}' heading, not a glossary entry" + (f" — {signal}" if signal else "")
            blocks.append(Block(item[0][0], item[0][1], skip=why))
    return blocks


# ---- terms and drafts -----------------------------------------------------------------------------

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
    # A line starting "## " would end the section when the entry is parsed; indent it by one space.
    text = "\n".join(" " + ln if re.match(r"^##\s", ln) else ln for ln in out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _leading_zh_name(definition: str) -> str | None:
    """'骨干网络，指……' -> '骨干网络': a definition that opens by naming the term in Chinese."""
    m = re.match(r"^([\u3400-\u9fff]{2,8})[，,（(：:]", definition)
    if m and not re.search(r"[的是在里时把被将对从即指这那该其]", m.group(1)):
        return m.group(1)
    return None


def drafts_for(block: Block) -> tuple[list[Draft], str | None]:
    names, note = parse_term(block.term or "")
    zh = definition_markdown(block.lines)
    if len(names) == 1 and not CJK.search(names[0].zh):
        names[0].zh = _leading_zh_name(zh) or names[0].zh
    ids = [entry_id(n) for n in names]
    drafts = []
    for n, (eid, placeholder) in zip(names, ids):
        related = tuple(dict.fromkeys(i for i, _ in ids if i != eid))
        drafts.append(Draft(eid, n.en, n.zh, tuple(n.aliases), related, zh, placeholder))
    return drafts, note


def render(draft: Draft, source_name: str) -> str:
    meta = {"id": draft.id, "term_en": draft.term_en, "term_zh": draft.term_zh, "aliases": list(draft.aliases),
            "related": list(draft.related), "tags": ["draft"]}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None, width=10_000)
    return (f"---\n{front}---\n\n## 中文\n{draft.zh}\n\n## English\n"
            f"DRAFT — English definition to be written (imported from {source_name}).\n")


# ---- the import -----------------------------------------------------------------------------------

def _existing_names(corpus_dir: Path) -> dict[str, str]:
    """name key -> id of the entry already claiming it."""
    if not corpus_dir.is_dir():
        return {}
    owners: dict[str, str] = {}
    for e in load_corpus(corpus_dir).entries:
        for n in e.names:
            owners.setdefault(name_key(n), e.id)
    return owners


def import_file(file: Path, corpus_dir: Path, force: bool = False) -> ImportReport:
    """Write one draft entry per glossary term in `file` into `corpus_dir`; report what was written and skipped."""
    file, corpus_dir = Path(file), Path(corpus_dir)
    text = read_glossary(file)
    report = ImportReport(file)
    blocks = split_blocks(text)
    owners = _existing_names(corpus_dir)

    planned: list[tuple[Draft, Block, bool]] = []  # (draft, block, overwrite)
    seen: dict[str, int] = {}
    found_any = False
    for b in blocks:
        if b.skip:
            report.skipped.append(Skipped(_excerpt(b.text), b.skip, b.line))
            continue
        drafts, note = drafts_for(b)
        found_any = True
        if note:
            report.notes.append(f"line {b.line}: {note}")
        for d in drafts:
            path = corpus_dir / f"{d.id}.md"
            excerpt = _excerpt(b.text)
            if d.id in seen:
                report.skipped.append(Skipped(excerpt, f"duplicate: id '{d.id}' already came from line "
                                              f"{seen[d.id]} of this file", b.line))
                continue
            seen[d.id] = b.line
            if path.exists() and not force:
                report.skipped.append(Skipped(excerpt, f"{_shown(path)} exists, skipped (use --force)", b.line))
                continue
            claimed = [(n, owners[name_key(n)]) for n in (d.term_en, d.term_zh, *d.aliases)
                       if owners.get(name_key(n), d.id) != d.id]
            if claimed and not force:
                name, owner = claimed[0]
                report.skipped.append(Skipped(excerpt, f"'{name}' is already a name of {owner}.md; merge by "
                                              "hand, or use --force to import a draft anyway", b.line))
                continue
            if claimed:
                report.notes.append(f"{d.id}.md: '{claimed[0][0]}' is also a name of {claimed[0][1]}.md; merge them "
                                    "before `glossarian corpus check`")
            planned.append((d, b, path.exists()))
            for n in (d.term_en, d.term_zh, *d.aliases):
                owners.setdefault(name_key(n), d.id)
    if not found_any:
        raise CorpusError(f"Nothing to import from {file}: no 'term: definition' paragraphs found.", FORMAT_HINT)

    corpus_dir.mkdir(parents=True, exist_ok=True)
    written = {d.id for d, _, _ in planned}
    for d, b, overwrite in planned:
        # A pair partner that was skipped and does not exist would be a dangling `related` link.
        related = tuple(r for r in d.related if r in written or (corpus_dir / f"{r}.md").exists())
        d = replace(d, related=related)
        path = corpus_dir / f"{d.id}.md"
        path.write_text(render(d, file.name), encoding="utf-8")
        term = d.term_en if d.term_en == d.term_zh else f"{d.term_en} / {d.term_zh}"
        (report.overwritten if overwrite else report.created).append(Written(d.id, path, term, b.line))
        if d.placeholder_id:
            report.notes.append(f"{d.id}.md ({d.term_zh}) has a placeholder id: rename the file and its id "
                                "to an English slug")
    return report
