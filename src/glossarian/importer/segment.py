"""Split a plain-text glossary into term blocks (a term and its definition lines) and skipped material, with reasons.

Shapes it reads: "term：定义" (a colon, Chinese or ASCII); a term alone on its line with the definition below it
(also after a blank line); an English term followed directly by Chinese prose ("temperature parameters 在论文中…");
pairs ("A 和B 甲和乙"). Code, printed tensors and "输出结果如下" output stay in the definition they follow. The
document's own title, article listings, links and a "相关文章" tail are skipped, each with its reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from glossarian.corpus import NotText, decode_text
from glossarian.errors import CorpusError
from glossarian.lang import CJK_RE as CJK

MAX_TERM = 40
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
# A line without a colon that starts like this continues a definition ("输出结果如下", "总结一下"), never names a term.
CONTINUES = re.compile(r"^(?:例如|比如|举例|举个例子|注意|其中|另外|此外|所以|因此|但是|然后|首先|其次|最后|总结|总之|也就是"
                       r"|简单来说|换句话说|下面|上面|以下|代码|输出|运行|结果|打印|可以看到|如图|补充)|(?:如下|所示|如下所示)$")
# Characters of Chinese grammar: a short line with one of them is a sentence fragment, not a term ("网络就越深").
ZH_GRAMMAR = re.compile(r"[的了吗呢吧啊我你他她这那就都很么把被]")
# Words that name a collection: a line "深度学习术语解释:backbone、head、neck,etc" is the document's title.
COLLECTION = re.compile(r"术语|名词|笔记|整理|汇总|总结|合集|清单|解释|glossary|terms|notes|cheat ?sheet", re.I)
LIST_SEP = re.compile(r"\s*[、,，;；/]\s*")
SENTENCE_END = re.compile(r"[。！？.!?」”)）]\s*$")
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
PAIR_MARK = re.compile(r"和|与|及|、|\sand\s|&")
# "temperature parameters 在论文中经常能看到…": up to five English words, then Chinese prose. Prose that opens with a
# particle binding it to the English word ("ResNet 的前四个 stage") is a sentence about it, not its definition.
TITLE = "the document's title (it names or lists terms), not an entry"
INLINE_TERM = re.compile(r"^([A-Za-z][A-Za-z0-9\-]*(?:[ \-][A-Za-z0-9][A-Za-z0-9\-]*){0,4})\s+"
                         r"((?![的之、和与及或等，,])[\u3400-\u9fff].*)$")

@dataclass
class Block:
    """One stretch of the source: a term with its definition lines, or material to skip (skip = the reason)."""
    line: int
    text: str  # the first line, for the report
    term: str | None = None
    lines: list[str] = field(default_factory=list)
    skip: str | None = None



def read_glossary(file: Path) -> str:
    """The file as text, or a CorpusError saying why it cannot be imported."""
    file = Path(file)
    if not file.exists():
        raise CorpusError(f"{file} does not exist.", "Check the path of the plain-text glossary to import.")
    if file.is_dir():
        raise CorpusError(f"{file} is a folder, not a glossary file.", "Pass one plain-text file (.txt).")
    try:
        text = decode_text(file.read_bytes())
    except NotText as exc:
        if exc.byte is None:
            raise CorpusError(f"{file} looks like a binary file (it contains NUL bytes), not plain text.",
                              "Export or save the glossary as UTF-8 plain text (.txt) and import that.") from None
        raise CorpusError(f"{file} is not UTF-8 text (byte 0x{exc.byte:02x} on line {exc.line}).",
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


def term_line(line: str, para_start: bool, next_line: str = "", prev_line: str = "") -> tuple[str, str] | None:
    """(term, rest) when `line` opens a new entry ("热身Warm up：…", "end to end" above its definition), else None.

    A line that starts a paragraph may carry an English or empty rest ("backbone:" then the definition
    below, not code: "示例代码：" introduces code); inside a paragraph the rest must be Chinese, so
    "Epoch 1: loss 0.5" stays continuation. Without a colon, see `bare_term`.
    """
    if not line or line[0] in " \t" or line.lstrip().startswith(">>>"):
        return None
    return colon_term(line, para_start, next_line) or bare_term(line, para_start, next_line, prev_line)


def _term_like(term: str) -> bool:
    """Could `term` (the part before a colon) be a glossary term rather than code or a sentence?"""
    # A pair ("domain adaptation 和domain generalization 域适应和域泛化") may be twice as long as one term.
    limit = MAX_TERM * 2 if PAIR_MARK.search(term) else MAX_TERM
    if not term or len(term) > limit:
        return False
    if (BAD_TERM_CHARS.search(term) or re.search(r"[\w.]\(", term) or re.search(r"\bimport\b", term)
            or PY_KEYWORD.match(term) or not re.search(r"[A-Za-z\u3400-\u9fff]", term)):
        return False
    return not ((term.isascii() and len(term) < 2) or term.casefold().rstrip(".") in LEAD_INS)


def colon_term(line: str, para_start: bool, next_line: str = "") -> tuple[str, str] | None:
    m = re.match(r"^([^:：]+)[:：](.*)$", line.strip("\u3000\ufeff \t"))
    if not m:
        return None
    term, rest = m.group(1).strip(), m.group(2).strip()
    if rest.startswith(("//", ":")) or not _term_like(term):
        return None
    if not rest and (not para_start or not next_line.strip() or is_code_line(next_line)):
        return None
    if rest and not CJK.search(rest) and (not para_start or re.search(r"=|->|^[\[{(]|\w\(", rest)
                                          or len(re.findall(r"[A-Za-z]{2,}", rest)) < 2):
        return None
    return term, rest


def heading_name(text: str) -> bool:
    """A line that is only a term's name ("end to end", "热身Warm up", "A 和B 甲和乙"), not a sentence or a label."""
    text = text.strip("\u3000\ufeff \t")
    if not _term_like(text) or re.search(r"[:：]|\d\.\d", text) or CONTINUES.search(text) or ZH_GRAMMAR.search(text):
        return False
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9\-]*", text)
    runs = re.findall(r"[\u3400-\u9fff]+", text)
    pair = bool(PAIR_MARK.search(text))
    return (len(words) <= (10 if pair else 5) and all(len(r) <= (16 if pair else 10) for r in runs)
            and not text.endswith("."))


def is_prose(line: str) -> bool:
    """A definition line: a Chinese phrase or an English sentence, not code and not another bare name."""
    text = line.strip()
    if not text or is_code_line(line) or heading_name(text):
        return False
    return len(CJK.findall(text)) >= 4 or len(re.findall(r"[A-Za-z]+", text)) >= 5 or bool(SENTENCE_END.search(text))


def bare_term(line: str, para_start: bool, next_line: str = "", prev_line: str = "") -> tuple[str, str] | None:
    """A term without a colon: alone above its definition, or an English term running into Chinese prose.

    Only where an entry can begin: at a paragraph start, or (for a term alone on its line) right after a
    finished sentence or the document's title line, so a wrapped definition line is never cut off.
    """
    text = line.strip("\u3000\ufeff \t")
    markdown_heading = re.match(r"^#{1,6}\s+(.+)$", text)  # "## end to end"; a code comment has code below it
    if is_code_line(line) and not markdown_heading:
        return None
    name = markdown_heading.group(1).strip() if markdown_heading else text
    after_code = bool(prev_line.strip()) and is_code_line(prev_line)
    after_sentence = bool(prev_line.strip()) and bool(SENTENCE_END.search(prev_line)) and not after_code
    # Right under code a short line may be printed output ("True", "loss 0.93"); a term there needs Chinese
    # prose below it that does not continue the output ("可以看到…").
    after_output = (after_code and not re.search(r"\d", name) and name not in ("True", "False", "None")
                    and len(CJK.findall(next_line)) >= 4 and not CONTINUES.search(next_line.strip()))
    if ((para_start or after_sentence or after_output or title_listing(prev_line)) and heading_name(name)
            and is_prose(next_line)):
        return name, ""
    m = INLINE_TERM.match(text)
    if (para_start and m and len(CJK.findall(m.group(2))) >= 6 and m.group(1).casefold() not in LEAD_INS
            and len(m.group(1)) >= 2):
        return m.group(1), text  # the term stays the subject of its sentence
    return None


def title_listing(line: str, first: bool = True) -> bool:
    """The document's own title listing terms ("深度学习术语解释:backbone、head、neck,etc"), not an entry.

    A list of names after a colon, under a head that names a collection ("术语", "笔记") or ending in "etc"/"等";
    `first` (nothing imported above it) is where such a title stands; later only a collection head counts,
    so "激活函数：ReLU、Sigmoid、Tanh" in the middle of the notes stays an entry.
    """
    m = re.match(r"^([^:：]+)[:：](.*)$", line.strip("\u3000\ufeff \t#"))
    if not m:
        return False
    head, rest = m.group(1).strip(), m.group(2).strip()
    listed = re.sub(r"(?:[,，、\s]*(?:etc\.?|等等?|\.\.\.|…+))+$", "", rest)
    items = [i for i in LIST_SEP.split(listed) if i]
    if len(items) < 2 or not all(len(i) <= MAX_TERM and len(i.split()) <= 4 and not SENTENCE_END.search(i)
                                 for i in items):
        return False
    return bool(COLLECTION.search(head)) or (first and listed != rest)


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
        prev = body[no - 2] if no >= 2 else ""
        parsed = None if in_fence or fence else term_line(ln, para_start, nxt, prev)
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
        first = not any(b.term for b in blocks)  # nothing imported yet: a title may stand here
        if title_listing(content[0], first) or (parsed and first and not parsed[1] and COLLECTION.search(parsed[0])):
            blocks.append(Block(no, content[0], skip=TITLE))
            current = None
            continue
        nxt = segments[k + 1] if k + 1 < len(segments) else None
        name = content[0].strip().lstrip("#").strip()
        if (not parsed and len(content) == 1 and nxt and nxt[1] is None and heading_name(name)
                and is_prose(next(ln for ln in nxt[2] if ln.strip()))):
            if first and COLLECTION.search(name):  # "# 训练技巧笔记" above an introduction
                blocks.append(Block(no, content[0], skip=TITLE))
                current = None
                continue
            parsed = (name, "")  # a term alone on its line, its definition in the next paragraph
        if parsed:
            term, rest = parsed
            current = Block(no, seg[0], term, [rest] + seg[1:] if rest else seg[1:])
            blocks.append(current)
            continue
        next_is_term = nxt is None or nxt[1] is not None
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
                b.skip = "no definition after the term"

    if tail_at is not None:
        heading = lines[tail_at].strip().lstrip("#").strip().rstrip(":：")
        blocks.append(Block(tail_at + 1, lines[tail_at], skip=f"'{heading}' heading: nothing after it is imported"))
        tail = [(n, ln) for n, ln in enumerate(lines[tail_at + 1:], tail_at + 2)]
        for item in _tail_items(tail):
            signal = _noise([ln for _, ln in item])
            why = f"after the '{heading}' heading, not a glossary entry" + (f" — {signal}" if signal else "")
            blocks.append(Block(item[0][0], item[0][1], skip=why))
    return blocks


