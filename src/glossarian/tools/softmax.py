"""softmax_temperature calculator: softmax(logits / T) for one or more temperatures, with a bar chart."""
from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import Field

from glossarian.tools import reading as rd
from glossarian.tools.figures import new_figure, to_png
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, fmt_list, r4, r4_all, register

DEMO_TEMPERATURES = [0.5, 1.0, 2.0]
# T ≥ 0.01 keeps logits / T finite in float32 for |logit| ≤ 1e4.
Logit = Annotated[float, Field(ge=-10_000, le=10_000)]
Temperature = Annotated[float, Field(ge=0.01, le=100)]


class SoftmaxArgs(Args):
    logits: list[Logit] = arg([1.0, 2.0, 3.0], "logits", "logits", "Raw scores (1 to 64 numbers).", min_length=1, max_length=64)
    temperatures: list[Temperature] = arg([1.0], "temperature", "温度", "Temperatures T (each 0.01 to 100).", min_length=1, max_length=16)


def softmax(z: list[float], t: float) -> list[float]:
    top = max(z)
    e = [math.exp((x - top) / t) for x in z]
    return [x / sum(e) for x in e]


def run(a: SoftmaxArgs) -> ToolOutput:
    rows = [{"temperature": t, "probabilities": r4_all(softmax(list(a.logits), t))} for t in a.temperatures]
    for r in rows:
        p = softmax(list(a.logits), r["temperature"])
        r["entropy"] = r4(-sum(x * math.log(x) for x in p if x > 0))
    many = len(a.logits) > 8

    def probs(r: dict) -> str:
        return f"max {max(r['probabilities']):.4f}" if many else fmt_list(r["probabilities"])

    if len(rows) == 1 and rows[0]["temperature"] == 1:
        headline = {"en": f"softmax({fmt_list(a.logits, 'g')}) = {probs(rows[0])}.", "zh": f"softmax({fmt_list(a.logits, 'g')}) = {probs(rows[0])}。"}
    else:
        headline = {"en": "; ".join(f"At T = {r['temperature']:g}: {probs(r)}" for r in rows[:4]) + ".",
                    "zh": "；".join(f"T = {r['temperature']:g} 时为 {probs(r)}" for r in rows[:4]) + "。"}
    summary = {"en": f"softmax(z / T) for logits {fmt_list(a.logits, 'g')}: a higher T flattens the distribution, a lower T sharpens it.",
               "zh": f"logits {fmt_list(a.logits, 'g')} 除以温度 T 再做 softmax：温度越高分布越平坦，越低越尖锐。"}
    if len(rows) > 1 and len(set(a.logits)) > 1:
        hot, cold = max(rows, key=lambda r: r["temperature"]), min(rows, key=lambda r: r["temperature"])
        summary["en"] += f" The largest probability is {max(hot['probabilities']):.4f} at T={hot['temperature']:g} but {max(cold['probabilities']):.4f} at T={cold['temperature']:g}."
        summary["zh"] += f"最大概率在 T={hot['temperature']:g} 时为 {max(hot['probabilities']):.4f}，在 T={cold['temperature']:g} 时为 {max(cold['probabilities']):.4f}。"
    code = f"""import torch

logits = torch.tensor({list(a.logits)!r}, dtype=torch.float64)
rows = []
for t in {list(a.temperatures)!r}:
    p = torch.softmax(logits / t, dim=-1)
    rows.append({{"temperature": t, "probabilities": p.tolist(), "entropy": torch.special.entr(p).sum().item()}})
    print(f"T={{t:g}}:", [round(x, 4) for x in p.tolist()])
values = {{"rows": rows}}
"""
    return ToolOutput(headline, summary, {"rows": rows}, code, _figure(rows))


def _figure(rows: list[dict]) -> bytes:
    fig, ax = new_figure(6.4, 3.6)
    classes = len(rows[0]["probabilities"])
    width = 0.8 / len(rows)
    for i, r in enumerate(rows):
        ax.bar([c - 0.4 + width * (i + 0.5) for c in range(classes)], r["probabilities"], width=width, label=f"T={r['temperature']:g}")
    ax.set_xticks(range(classes) if classes <= 16 else range(0, classes, max(1, classes // 16)))
    ax.set_xlabel("class")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.set_title("softmax(logits / T)")
    ax.legend(fontsize=8)
    return to_png(fig)


def read(text: str) -> dict:
    found: dict = {}
    temps: list[float] = []
    for values, start, end in rd.lists_after(text, r"temperatures?|温度(?:系数|参数)?|τ|(?<![a-z0-9_])t\s*(?=[=:∈]|为|取|是)"):
        temps += values
        text = rd.blank(text, start, end)
    if temps:
        found["temperatures"] = temps
    elif re.search(r"temperature|温度|τ", text):
        found["_assumed"] = {"temperatures": DEMO_TEMPERATURES}  # a temperature demo without values: a sharp, neutral, flat T
    lists = rd.number_lists(text)
    if lists:
        found["logits"] = lists[0]
    return found


TOOL = register(Tool(
    name="softmax_temperature",
    label=("softmax (with temperature)", "softmax（可带温度）"),
    description="Softmax with temperature: softmax(logits / T) for one or several temperatures T.",
    args=SoftmaxArgs,
    run=run,
    triggers=r"softmax",
    hints=(r"temperature|温度|τ", r"logits?", r"概率|probabilit"),
    read=read,
))
