"""Reading numbers, lists, shapes and keyed values out of a question, in linear time (no nested quantifiers).

Text arrives NFKC-normalised and lower-cased (router.normalise), so full-width digits and （，）：＝ are ASCII.
Numbers: 3, -1, 0.5, .5, 3e-4, 10k, 1.5m, 2万, 10,000 (thousands only before a word), 1/3. A number glued to a word
("resnet50", "conv1x1", "fp16") is not read, so model names are not taken for arguments.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Every pattern here has only single, non-nested quantifiers (or bounded ones), so matching is linear.
_NUMBER = re.compile(
    r"(?:(?<![a-z0-9_)\].\-])-)?"  # a sign, but not the dash in "256-64-256" or "x-1"
    r"(?<![a-z0-9_.×*])"  # not glued to a word, to another number or into a shape
    r"(?:\d{1,3}(?:,\d{3})+(?=\s?[a-z\u4e00-\u9fff])|\d+(?:\.\d+)?|\.\d+)"
    r"(?:e[-+]?\d+)?"
    r"(?:(k|m|万|千)(?![a-z]))?"
    r"(?![0-9a-df-jl-z_])(?!\s*[×*]\s*\d)"  # "7b", "3d", "16x", "7×7" are words or shapes, not numbers
)
# NaN and infinity written as list items ("softmax of [nan, 1, 2]", "[1, 2, -inf]"). Lists keep them so that the
# calculator refuses the list (its arguments must be finite) instead of silently computing it without them.
_NON_FINITE = re.compile(r"(?<![a-z0-9_.])([-+])?(nan|inf(?:inity)?|∞)(?![a-z0-9_])")
_SCALE = {"k": 1e3, "m": 1e6, "万": 1e4, "千": 1e3}
_LIST_GAP = re.compile(r"\s*(?:,|，|、|;|\band\b|和|与|及|\bor\b|或)?\s*")
_BRACKETED = re.compile(r"[\[(]([^\[\]()]{1,4000})[\])]")
_SHAPE_GAP = re.compile(r"\s*[x×*]\s*")


@dataclass(frozen=True)
class Number:
    value: float
    start: int
    end: int

    @property
    def whole(self) -> bool:
        return float(self.value).is_integer()

    def as_int(self) -> int | float:
        return int(self.value) if self.whole else self.value


def numbers(text: str, non_finite: bool = False) -> list[Number]:
    """The numbers in `text`, in order; `non_finite` also reads nan, inf and ∞ (for lists, see _NON_FINITE)."""
    found = []
    for m in _NUMBER.finditer(text):
        raw = m.group().replace(",", "")
        scale = 1.0
        if m.group(1):
            scale, raw = _SCALE[m.group(1)], raw[: -len(m.group(1))]
        try:
            value = float(raw) * scale
        except ValueError:
            continue
        if not math.isfinite(value):
            continue
        if value == int(value) and abs(value) < 1e15 and "e" not in raw and "." not in raw:
            value = int(value)
        if found and text[found[-1].end : m.start()] == "/" and isinstance(found[-1].value, int) \
                and isinstance(value, int) and value != 0:  # a fraction: "q = [1/3, 1/3, 1/3]"
            found[-1] = Number(found[-1].value / value, found[-1].start, m.end())
            continue
        found.append(Number(value, m.start(), m.end()))
    if non_finite:
        for m in _NON_FINITE.finditer(text):
            value = math.nan if m.group(2) == "nan" else (-math.inf if m.group(1) == "-" else math.inf)
            found.append(Number(value, m.start(), m.end()))
        found.sort(key=lambda n: n.start)
    return found


def _runs(text: str, nums: list[Number], gap: re.Pattern) -> list[list[Number]]:
    """Consecutive numbers whose gaps all match `gap`, as runs (each a list of Numbers)."""
    runs: list[list[Number]] = []
    for n in nums:
        if runs and gap.fullmatch(text[runs[-1][-1].end:n.start]):
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def bracketed_lists(text: str) -> list[tuple[list[float], int, int]]:
    """[1, 2, 3] and (32, 2048, 7, 7): bracket contents made only of numbers and separators."""
    out = []
    for m in _BRACKETED.finditer(text):
        inner = m.group(1)
        nums = numbers(inner, non_finite=True)
        if nums and re.fullmatch(r"[\s,，、;]*", _strip_spans(inner, nums)):
            out.append(([n.value for n in nums], m.start(), m.end()))
    return out


def _strip_spans(text: str, nums: list[Number]) -> str:
    parts, last = [], 0
    for n in nums:
        parts.append(text[last:n.start])
        last = n.end
    parts.append(text[last:])
    return "".join(parts)


def nested_lists(text: str) -> list[list[list[float]]]:
    """[[1, 2], [3, 4]]: runs of bracketed lists inside one outer bracket (or next to each other)."""
    inner = bracketed_lists(text)
    groups: list[list[tuple[list[float], int, int]]] = []
    for item in inner:
        if groups and re.fullmatch(r"[\s,，、;]*", text[groups[-1][-1][2]:item[1]]):
            groups[-1].append(item)
        else:
            groups.append([item])
    # One row counts when it sits in an outer bracket of its own: "scores [[0.1, 0.9]]".
    return [[g[0] for g in group] for group in groups
            if len(group) >= 2 or text[max(0, group[0][1] - 1):group[0][1]] in ("[", "(")]


def plain_lists(text: str) -> list[list[float]]:
    """1, 2, 3 or 0.5、1 和 2 written without brackets (two or more numbers)."""
    return [[n.value for n in run] for run in _runs(text, numbers(text, non_finite=True), _LIST_GAP) if len(run) >= 2]


def number_lists(text: str) -> list[list[float]]:
    """Bracketed lists first (they are unambiguous), else plain ones."""
    return [values for values, _, _ in bracketed_lists(text)] or plain_lists(text)


def x_shapes(text: str) -> list[list[int]]:
    """32x2048x7x7, 2 × 64 × 7 × 7 (digits joined by x, ×, *)."""
    digits = [Number(int(m.group()), m.start(), m.end()) for m in re.finditer(r"(?<![a-z0-9_.])\d+|(?<=[x×*])\d+", text)]
    return [[int(n.value) for n in run] for run in _runs(text, digits, _SHAPE_GAP) if len(run) >= 2]


def shapes(text: str, min_dims: int = 2) -> list[list[int]]:
    """Every tensor shape the text writes, bracketed or with x, in order of appearance."""
    found = [(start, [int(v) for v in values]) for values, start, _ in bracketed_lists(text)
             if len(values) >= min_dims and all(float(v).is_integer() and v > 0 for v in values)]
    digits = [Number(int(m.group()), m.start(), m.end()) for m in re.finditer(r"(?<![a-z0-9_.])\d+|(?<=[x×*])\d+", text)]
    found += [(run[0].start, [int(n.value) for n in run]) for run in _runs(text, digits, _SHAPE_GAP) if len(run) >= max(2, min_dims)]
    return [s for _, s in sorted(found)]


def after(text: str, keys: str, gap: int = 12) -> Number | None:
    """The first number within `gap` non-digit characters after a keyword ("total steps: 10000", "词表 30000")."""
    for m in re.finditer(keys, text):
        tail_start = m.end()
        for n in numbers(text[tail_start:tail_start + gap + 40]):
            between = text[tail_start:tail_start + n.start]
            if len(between) <= gap and not re.search(r"\d", between):
                return Number(n.value, tail_start + n.start, tail_start + n.end)
            break
    return None


def before(text: str, keys: str, gap: int = 6) -> Number | None:
    """A number written just before a keyword ("2048 channels", "768 维", "10000 total steps")."""
    for m in re.finditer(keys, text):
        offset = max(0, m.start() - gap - 30)
        head = text[offset:m.start()]
        nums = [n for n in numbers(text[offset:m.end() + 2]) if n.end <= len(head)]  # the key shows "10,000 total" is one number
        if nums and len(head) - nums[-1].end <= gap and not re.search(r"\d", head[nums[-1].end:]):
            last = nums[-1]
            return Number(last.value, offset + last.start, offset + last.end)
    return None


def keyed(text: str, keys: str, gap: int = 12) -> Number | None:
    """A number next to a keyword, either side; the nearer one after the keyword wins."""
    return after(text, keys, gap) or before(text, keys, min(gap, 6))


def flag(text: str, yes: str, no: str) -> bool | None:
    """True/False when the text says so (the negative pattern is checked first), else None."""
    if re.search(no, text):
        return False
    if re.search(yes, text):
        return True
    return None


def blank(text: str, start: int, end: int) -> str:
    """Blank a span (same length, so later positions stay valid) so no other reader takes the same numbers."""
    return text[:start] + " " * (end - start) + text[end:]


def call_args(text: str, name: str) -> tuple[list[float], dict[str, float], tuple[int, int]] | None:
    """nn.Conv2d(64, 128, 3, stride=2): the positional and keyword numbers of a written call, and its span."""
    m = re.search(rf"(?:nn\.)?{name}\(([^()]{{0,300}})\)", text)
    if not m:
        return None
    positional, keywords = [], {}
    for part in m.group(1).split(","):
        key, _, value = part.partition("=")
        nums = numbers(value if _ else key)
        if _:
            keywords[key.strip()] = nums[0].value if nums else value.strip()
        elif nums:
            positional.append(nums[0].value)
    return positional, keywords, m.span()


IN_OUT = [
    r"从\s*(\d+)\s*(?:维|个通道|通道|channels?|dims?)?\s*(?:降维|降|压缩|投影|映射|减少|变换|变|升维|升|扩展)\s*(?:到|至|为|成)\s*(\d+)",
    r"from\s+(\d+)\s*(?:-?d\b|dim\w*|channels?|features?)?\s+(?:down\s+|up\s+)?to\s+(\d+)",
    r"(?<![\d.x×])(\d+)\s*(?:维|个通道|通道|channels?|dims?|-?d\b)?\s*(?:->|=>|to|到|至|降到|降至|变成|压缩到|投影到|映射到)\s*(\d+)(?![\d.]|\s*(?:->|到))",
]


def in_out(text: str) -> tuple[int, int, tuple[int, int]] | None:
    """"from 1024 to 256", "1024->256", "从 2048 降到 512": an input and an output width."""
    found = [m for m in (re.search(p, text) for p in IN_OUT) if m]
    if not found:
        return None
    m = min(found, key=lambda x: x.start())
    return int(m.group(1)), int(m.group(2)), m.span()


NO_BIAS = r"without\s+(?:a\s+)?bias|no\s+bias|bias\s*=\s*false|(?:不带|不加|不含|不要|去掉|没有|无)\s*(?:偏置|bias)"
WITH_BIAS = r"with\s+(?:a\s+)?bias|bias\s*=\s*true|(?:带|加|含|有)\s*(?:偏置|bias)"
BATCH = r"batch(?:\s*size)?|批大小|批量大小|批次大小|\bn\s*="

FILLER = re.compile(r"(?:\s|=|:|\bis\b|\bare\b|\bof\b|\bat\b|\bto\b|为|是|取|设为|分别为|分别是|分别取|∈|\bin\b|下|[\[(])*")


def lists_after(text: str, keys: str) -> list[tuple[list[float], int, int]]:
    """"temperatures 0.5, 1 and 2", "T=[1, 2]": the run of numbers right after each keyword, with its span."""
    out = []
    for m in re.finditer(keys, text):
        tail = text[m.end():m.end() + 200]
        lead = FILLER.match(tail).end()
        nums = numbers(tail)
        if not nums or nums[0].start > lead:
            continue
        run = [nums[0]]
        for n in nums[1:]:
            if not _LIST_GAP.fullmatch(tail[run[-1].end:n.start]):
                break
            run.append(n)
        out.append(([n.value for n in run], m.start(), m.end() + run[-1].end))
    return out
