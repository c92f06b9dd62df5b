"""sigmoid calculator: σ(x) = 1 / (1 + e^−x) for one or more numbers."""
from __future__ import annotations

import math
import re

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, r4, register


class SigmoidArgs(Args):
    x: list[float] = arg([0.5], "input", "输入", "The numbers to apply the sigmoid to.", min_length=1, max_length=1000)


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def run(a: SigmoidArgs) -> ToolOutput:
    ys = [sigmoid(v) for v in a.x]
    values = {"sigmoid": [r4(y) for y in ys]}
    pairs = "; ".join(f"σ({v:g}) = {y:.4f}" for v, y in list(zip(a.x, ys))[:8])
    headline = {"en": pairs + ".", "zh": pairs.replace("; ", "；") + "。"}
    summary = {"en": "σ(x) = 1 / (1 + e^−x) squashes any real number into (0, 1); σ(0) = 0.5 and σ(−x) = 1 − σ(x).",
               "zh": "σ(x) = 1 / (1 + e^−x) 把任意实数压到 (0, 1) 之间；σ(0) = 0.5，且 σ(−x) = 1 − σ(x)。"}
    code = f"""import torch

x = torch.tensor({list(a.x)!r}, dtype=torch.float64)
values = {{"sigmoid": torch.sigmoid(x).tolist()}}
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    m = re.search(r"(?:sigmoid|σ|logistic)\s*(?:function)?\s*(?:of|on|at|for|值|函数)?\s*\(?\s*(?:x\s*=\s*)?", text)
    tail = text[m.end():] if m else text
    for lists in (rd.number_lists(tail), rd.number_lists(text)):
        if lists:
            return {"x": lists[0]}
    nums = rd.numbers(tail) or rd.numbers(text)
    return {"x": [nums[0].value]} if nums else {}


TOOL = register(Tool(
    name="sigmoid",
    label=("sigmoid", "sigmoid"),
    description="The logistic sigmoid σ(x) = 1 / (1 + e^−x) of one or more numbers.",
    args=SigmoidArgs,
    run=run,
    triggers=r"sigmoid|σ\s*\(|logistic\s+function|逻辑函数|s\s*型函数",
    hints=(r"概率|probabilit",),
    read=read,
))
