"""kl_divergence calculator: KL(P‖Q) of two discrete distributions, as torch's F.kl_div computes it."""
from __future__ import annotations

import math
import re

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, fmt_list, r4, refuse, register


class KLArgs(Args):
    p: list[float] = arg([0.5, 0.3, 0.2], "distribution P", "分布 P", "The reference distribution P (the target).",
                         min_length=1, max_length=1000)
    q: list[float] = arg([0.4, 0.4, 0.2], "distribution Q", "分布 Q", "The approximating distribution Q (the model).",
                         min_length=1, max_length=1000)


def kl(p: list[float], q: list[float]) -> float:
    total = 0.0
    for a, b in zip(p, q):
        if a > 0:
            total += math.inf if b == 0 else a * math.log(a / b)
    return total


def run(a: KLArgs) -> ToolOutput:
    p, q = list(a.p), list(a.q)
    if len(p) != len(q):
        raise refuse(f"P has {len(p)} values and Q has {len(q)}; they must have the same length.",
                     f"P 有 {len(p)} 个值，Q 有 {len(q)} 个，长度必须相同。", "Give two distributions over the same classes.", "请给同一组类别上的两个分布。")
    if any(x < 0 for x in p + q) or sum(p) <= 0 or sum(q) <= 0:
        raise refuse("Probabilities cannot be negative.", "概率不能为负。", "Give two probability distributions.", "请给两个概率分布。")
    note_en = note_zh = ""
    if abs(sum(p) - 1) > 1e-6 or abs(sum(q) - 1) > 1e-6:
        p, q = [x / sum(p) for x in p], [x / sum(q) for x in q]
        note_en = " The values did not sum to 1, so both were normalised first."
        note_zh = "给出的值之和不为 1，已先各自归一化。"
    forward, reverse = kl(p, q), kl(q, p)
    values = {"kl_pq": r4(forward) if math.isfinite(forward) else "inf", "kl_qp": r4(reverse) if math.isfinite(reverse) else "inf",
              "kl_pq_bits": r4(forward / math.log(2)) if math.isfinite(forward) else "inf"}
    if math.isfinite(forward):
        headline = {"en": f"KL(P‖Q) = {forward:.4f} nats ({forward / math.log(2):.4f} bits).",
                    "zh": f"KL(P‖Q) = {forward:.4f} nat（{forward / math.log(2):.4f} bit）。"}
    else:
        headline = {"en": "KL(P‖Q) is infinite: Q gives probability 0 to a class that P does not.",
                    "zh": "KL(P‖Q) 为无穷大：Q 给某个类别的概率是 0，而 P 不是。"}
    rev = f"{reverse:.4f}" if math.isfinite(reverse) else "∞"
    summary = {"en": f"KL(P‖Q) = Σ p·log(p/q) for P = {fmt_list(p)} and Q = {fmt_list(q)}. It is not symmetric: KL(Q‖P) = {rev}. "
                     f"In PyTorch the model's log-probabilities go first: F.kl_div(Q.log(), P, reduction='sum').{note_en}",
               "zh": f"KL(P‖Q) = Σ p·log(p/q)，其中 P = {fmt_list(p)}，Q = {fmt_list(q)}。它不对称：KL(Q‖P) = {rev}。"
                     f"PyTorch 里模型的对数概率放在前面：F.kl_div(Q.log(), P, reduction='sum')。{note_zh}"}
    code = f"""import torch
import torch.nn.functional as F

P = torch.tensor({p!r}, dtype=torch.float64)
Q = torch.tensor({q!r}, dtype=torch.float64)
kl_pq = F.kl_div(Q.log(), P, reduction="sum").item()  # KL(P||Q): input = log Q, target = P
kl_qp = F.kl_div(P.log(), Q, reduction="sum").item()
values = {{"kl_pq": kl_pq, "kl_qp": kl_qp, "kl_pq_bits": kl_pq / torch.log(torch.tensor(2.0)).item()}}
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    found: dict = {}
    for key in ("p", "q"):
        if m := re.search(rf"(?<![a-z]){key}\s*(?:=|:|为|是)\s*[\[(]([^\[\]()]{{1,2000}})[\])]", text):
            found[key] = [n.value for n in rd.numbers(m.group(1), non_finite=True)]
            text = rd.blank(text, *m.span())
    lists = rd.number_lists(text)
    for key in ("p", "q"):
        if key not in found and lists:
            found[key] = lists.pop(0)
    return found


TOOL = register(Tool(
    name="kl_divergence",
    label=("KL divergence", "KL 散度"),
    description="KL divergence KL(P‖Q) = Σ p log(p/q) between two discrete distributions, in nats and bits.",
    args=KLArgs,
    run=run,
    triggers=r"\bkl\b|kullback|kl[\s_-]*div|kl\s*散度|相对熵|relative\s+entropy",
    hints=(r"distribution|分布", r"散度|divergence"),
    read=read,
))
