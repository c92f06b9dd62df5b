"""Tool results as answer text: the number asked for first, then the explanation, what was assumed, and the code.

`compute(question, lang)` is the one call the offline composer makes; it keeps tool rendering out of compose.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from glossarian.errors import ToolError
from glossarian.tools.registry import Refused, ToolCall, ToolResult, get_tool, list_tools


@dataclass
class Computation:
    """What the calculators contribute to an answer. `standalone`: nothing from the glossary should follow."""

    text: str
    results: list[ToolResult] = field(default_factory=list)
    error: str = ""
    standalone: bool = False


def _value(v, lang: str) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_value(x, lang) for x in v[:8]) + (", …" if len(v) > 8 else "") + "]"
    if isinstance(v, bool):
        return ("是" if v else "否") if lang == "zh" else ("yes" if v else "no")
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def assumed_note(call: ToolCall, lang: str) -> str:
    """Which values the question did not give and were assumed, named as people name them (no argument names)."""
    params = {p.name: p for p in get_tool(call.name).params}
    parts = [(params[k].label_zh if lang == "zh" else params[k].label_en, _value(call.arguments[k], lang))
             for k in call.defaulted if k in params and call.arguments.get(k) is not None]
    if not parts:
        return ""
    if lang == "zh":
        return "（问题里没有给出的值按以下假设计算：" + "，".join(f"{a} = {b}" for a, b in parts) + "。）"
    return "(Not given in the question, so assumed: " + ", ".join(f"{a} = {b}" for a, b in parts) + ".)"


def result_text(result: ToolResult, lang: str, call: ToolCall | None = None) -> str:
    other = "en" if lang == "zh" else "zh"
    parts = [result.headline.get(lang) or result.headline.get(other, ""),
             result.summary.get(lang) or result.summary.get(other, "")]
    if call is not None:
        parts.append(assumed_note(call, lang))
    label = "复现这个数值的 PyTorch 代码：" if lang == "zh" else "PyTorch code that reproduces it:"
    parts.append(f"{label}\n\n```python\n{result.code.strip()}\n```")
    return "\n\n".join(p for p in parts if p)


def error_text(error: ToolError, lang: str) -> str:
    reason = error.text(lang) if isinstance(error, Refused) else str(error)
    return f"没有算出结果：{reason}" if lang == "zh" else f"The computation did not run: {reason}"


def no_calculator_text(lang: str) -> str:
    if lang == "zh":
        return "这个计算没有对应的计算器，我不会凭空给数；能算的有：" + "、".join(t.label[1] for t in list_tools()) + "。"
    return "No calculator here covers this computation, and I won't guess a number; I can compute: " + \
        ", ".join(t.label[0] for t in list_tools()) + "."


def compute(question: str, lang: str, context: str = "") -> Computation | None:
    """Route the question, run the calculator and render it; None when the question asks for no computation.
    `context`: the conversation's subject, for follow-ups ("compute it for a 2x64x7x7 tensor")."""
    from glossarian.tools.registry import run_tool
    from glossarian.tools.router import route, unmet_computation

    call = route(question, context)
    if call is None:
        return Computation(no_calculator_text(lang), standalone=True) if unmet_computation(question, context) else None
    try:
        result = run_tool(call.name, call.arguments)
    except ToolError as exc:
        return Computation(error_text(exc, lang), error=str(exc))
    return Computation(result_text(result, lang, call), [result])
