"""topk_accuracy calculator: the share of samples whose true class is among the k highest scores."""
from __future__ import annotations

import re

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, r4, refuse, register


class TopKArgs(Args):
    scores: list[list[float]] = arg([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]], "scores", "各样本的分数",
                                    "One row of class scores (logits or probabilities) per sample.", min_length=1, max_length=1000)
    targets: list[int] = arg([2, 0, 1], "true classes", "真实类别", "The true class of each sample (0-based).", min_length=1, max_length=1000)
    k: int = arg(2, "k", "k", "How many top-scored classes count as a hit.", ge=1, le=1000)


def run(a: TopKArgs) -> ToolOutput:
    rows, targets = [list(r) for r in a.scores], list(a.targets)
    if len(rows) != len(targets) or len({len(r) for r in rows}) != 1:
        raise refuse(f"{len(rows)} score rows and {len(targets)} targets: give one target per row, rows of equal length.",
                     f"分数有 {len(rows)} 行、真实类别有 {len(targets)} 个：每行一个类别，且每行长度相同。",
                     "E.g. scores [[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]] with targets [2, 0].", "例如分数 [[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]，类别 [2, 0]。")
    classes = len(rows[0])
    if a.k > classes or any(not 0 <= t < classes for t in targets):
        raise refuse(f"k and every target must be within the {classes} classes.", f"k 和每个真实类别都必须在 {classes} 个类别之内。",
                     f"Use k ≤ {classes} and targets 0 to {classes - 1}.", f"请用 k ≤ {classes}，类别取 0 到 {classes - 1}。")

    def topk(row: list[float], k: int) -> list[int]:  # ties broken by the lower index, as torch.topk on CPU does in practice
        return sorted(range(classes), key=lambda c: (-row[c], c))[:k]

    hits = [t in topk(r, a.k) for r, t in zip(rows, targets)]
    top1 = sum(t == topk(r, 1)[0] for r, t in zip(rows, targets))
    n = len(rows)
    values = {"accuracy": r4(sum(hits) / n), "hits": sum(hits), "samples": n, "top1_accuracy": r4(top1 / n)}
    headline = {"en": f"Top-{a.k} accuracy = {sum(hits)}/{n} = {sum(hits) / n:.4f}.",
                "zh": f"Top-{a.k} 准确率 = {sum(hits)}/{n} = {sum(hits) / n:.4f}。"}
    missed = [i for i, h in enumerate(hits) if not h]
    summary = {"en": f"A sample counts when its true class is among its {a.k} highest scores"
                     + (f"; samples {missed} miss" if missed else "; every sample hits") + f". Top-1 accuracy is {top1}/{n} = {top1 / n:.4f}.",
               "zh": f"真实类别落在该样本分数最高的 {a.k} 个类别里就算命中"
                     + (f"；第 {missed} 个样本（从 0 数）没命中" if missed else "；所有样本都命中") + f"。Top-1 准确率为 {top1}/{n} = {top1 / n:.4f}。"}
    code = f"""import torch

scores = torch.tensor({rows!r})
targets = torch.tensor({targets!r})
topk = scores.topk({a.k}, dim=1).indices
hits = (topk == targets[:, None]).any(dim=1)
values = {{"accuracy": hits.float().mean().item(), "hits": int(hits.sum()), "samples": len(targets),
          "top1_accuracy": (scores.argmax(dim=1) == targets).float().mean().item()}}
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    found: dict = {}
    if m := re.search(r"top[\s-]*(\d+)|前\s*(\d+)\s*(?:准确率|名|个)|\bk\s*=\s*(\d+)", text):
        found["k"] = int(next(g for g in m.groups() if g))
        text = rd.blank(text, *m.span())
    nested = rd.nested_lists(text)
    if nested:
        found["scores"] = nested[0]
    if n := rd.lists_after(text, r"targets?|labels?|真实类别|真实标签|标签|类别"):
        values = [v for v, _, _ in n if not nested or len(v) == len(nested[0])]
        if values:
            found["targets"] = [int(v) if float(v).is_integer() else v for v in values[-1]]
    return found


TOOL = register(Tool(
    name="topk_accuracy",
    label=("top-k accuracy", "top-k 准确率"),
    description="Top-k accuracy of class scores (one row per sample) against the true classes.",
    args=TopKArgs,
    run=run,
    triggers=r"top[\s-]*(?:\d+|k)\s*(?:accuracy|acc|准确率|正确率)|前\s*\d+\s*准确率",
    hints=(r"scores?|分数|logits?|概率", r"targets?|labels?|标签|类别"),
    read=read,
))
