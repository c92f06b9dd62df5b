"""Deterministic zh/en router (no LLM): route(question) picks a calculator and its arguments, or None.

Each calculator declares its own routing phrases (Tool.triggers/hints) and argument reader (Tool.read); this file
only scores them and decides whether the question asks for a computation at all.
"""
from __future__ import annotations

import re
import unicodedata

from glossarian.tools.reading import numbers, shapes
from glossarian.tools.registry import ToolCall, list_tools

CUES = (
    r"算一下|算算|算出|帮我算|计算一下|求出|求一下|是多少|等于多少|为多少|有多少|多大|多少个?\S{0,4}参数|参数量|"
    r"输出(?:形状|尺寸|大小|维度|结果|值|概率|什么)|形状(?:是|变成|变为|会|为)|变成什么|会变成|什么形状|得到什么|"
    r"画|绘制|可视化|演示|示范|跑一下|运行一下|试一下|打印|给我看|长什么样|曲线|第\s*\d+\s*(?:步|个?\s*epoch|轮)|"
    r"show\s+me|\bplot|\bdraw|visuali[sz]e|\bdemo|demonstrat|\brun\b|how\s+many|how\s+big|parameter\s+count|"
    r"number\s+of\s+(?:trainable\s+)?parameters|output\s+shape|what\s+shape|\bprint\b|\bgive\s+me\b|look\s+like|\bcurve|"
    r"\bat\s+step\b|what(?:'s|\s+is|\s+are|\s+would\s+be|\s+will\s+be|\s+do\s+i\s+get)\s+(?:the\s+)?(?:value|result|output|"
    r"shape|loss|lr\b|learning\s+rate|probabilit|iou|accuracy|parameters|number)\b"
)
# "How is softmax computed?" asks for an explanation, so these verbs count only without a how/why word.
SOFT_CUES = r"计算|\bcompute|\bcalculate|\bcalc\b|\bevaluate"
HOW_WHY = r"怎么|如何|怎样|为什么|为何|原理|\bhow\b(?!\s+(?:many|much|big))|\bwhy\b"
ADVICE = r"一般|通常|推荐|建议|常用|\busually|\btypical|\brecommend|\bcommon"
DEFINE = r"^\s*(?:what\s+(?:is|are|does)|what's|什么是|啥是|解释|explain|define|介绍)"
EXPLICIT = r"算一下|算算|帮我算|计算一下|求出|求一下|是多少|等于多少|\bcompute\b|\bcalculate\b|what(?:'s|\s+is)\s+the\s+(?:value|result)"


def normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question)
    for a, b in (("−", "-"), ("–", "-"), ("→", "->"), ("⟶", "->"), ("。", ". "), ("（", "("), ("）", ")")):
        text = text.replace(a, b)
    return text.lower()


# One number given as an operand: "what is sigmoid of -2", "what is softmax at T=2", "what is sigmoid(0.5)".
ARGUMENT = r"\b(?:of|at)\s+[-+]?\d|[a-zσ]\(\s*[-+]?\d|=\s*[-+]?\d"


def _given(text: str) -> bool:
    return bool(numbers(text) or shapes(text))


def wants_computation(text: str, found: dict) -> bool:
    """Numbers the question gives, or a plain request to compute/show, make it a computation; how/why, advice
    and "what is X?" with at most one number (e.g. "what is top-5 accuracy?") stay definition questions, unless
    the number is an operand ("what is sigmoid of -2?")."""
    numeric = any(not isinstance(v, (bool, str)) for v in found.values()) and bool(numbers(text) or shapes(text))
    explicit = bool(re.search(CUES, text))
    data = (len(numbers(text)) >= 2 or any(len(s) >= 3 for s in shapes(text))
            or bool(re.search(ARGUMENT, text)))
    if re.search(HOW_WHY, text) or (re.search(ADVICE, text) and not explicit):
        return False
    if re.search(DEFINE, text) and not (data or explicit):
        return False
    return numeric or explicit or bool(re.search(SOFT_CUES, text))


def route(question: str, context: str = "") -> ToolCall | None:
    """Propose a tool call for a question that asks for a computation; None for everything else.

    `context` names the conversation's subject ("Global Average Pooling") for follow-ups such as "compute it for a
    2x64x7x7 tensor": its words may pick the calculator, but the arguments only come from the question.
    """
    if not isinstance(question, str) or not question.strip():
        return None
    text = normalise(question[:2000])
    topic = normalise(context[:300]) if isinstance(context, str) else ""
    best = None
    for rank, tool in enumerate(list_tools()):
        strong = bool(re.search(tool.triggers, text)) or bool(topic and re.search(tool.triggers, topic))
        if not strong:
            continue
        weak = sum(bool(re.search(w, text)) for w in tool.hints)
        found = tool.read(text)
        assumed, irrelevant = found.pop("_assumed", {}), set(found.pop("_irrelevant", ()))
        score = (3 + weak + len(found), -rank)
        if best is None or score > best[0]:
            best = (score, tool, found, assumed, irrelevant)
    if best is None:
        return None
    _, tool, found, assumed, irrelevant = best
    if not wants_computation(text, found):
        return None
    defaults = tool.defaults()
    arguments = {**defaults, **assumed, **{k: v for k, v in found.items() if k in defaults}}
    return ToolCall(tool.name, arguments, [p.name for p in tool.params
                                           if p.name not in found and not p.quiet and p.name not in irrelevant])


def unmet_computation(question: str, context: str = "") -> bool:
    """True when the question plainly asks to compute something with numbers but no calculator covers it."""
    if not isinstance(question, str) or route(question, context) is not None:
        return False
    text = normalise(question[:2000])
    return bool(re.search(EXPLICIT, text)) and _given(text) and not re.search(HOW_WHY, text)
