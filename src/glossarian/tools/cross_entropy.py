"""cross_entropy calculator: F.cross_entropy of logits (or probabilities) and a target, optionally label-smoothed or per temperature."""
from __future__ import annotations

import math
import re
from typing import Literal

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, fmt_list, r4, refuse, register
from glossarian.tools.softmax import Temperature

Scores = list[float]


class CrossEntropyArgs(Args):
    logits: Scores = arg([2.0, 0.5, -1.0], "logits", "logits", "Raw class scores (or probabilities, see inputs).",
                         min_length=2, max_length=1000)
    target: int = arg(0, "target class", "目标类别", "0-based index of the true class.", ge=0, le=999)
    label_smoothing: float = arg(0.0, "label smoothing", "标签平滑系数", "PyTorch's label_smoothing ε (0 to 1).", quiet=True,
                                 ge=0.0, le=1.0)
    inputs: Literal["logits", "probabilities"] = arg("logits", "input kind", "输入类型", "Whether the numbers are logits "
                                                     "or already probabilities.", quiet=True)
    temperatures: list[Temperature] | None = arg(None, "temperatures", "温度", "Optional temperatures T: also report "
                                           "cross_entropy(logits / T).", quiet=True, min_length=1, max_length=16)


def log_softmax(z: list[float]) -> list[float]:
    top = max(z)
    lse = top + math.log(sum(math.exp(x - top) for x in z))
    return [x - lse for x in z]


def loss(z: list[float], target: int, eps: float) -> float:
    """PyTorch's convention: (1 − ε)·(−log p_target) + ε · mean over classes of (−log p_k)."""
    logp = log_softmax(z)
    return (1 - eps) * -logp[target] + eps * -sum(logp) / len(z)


def run(a: CrossEntropyArgs) -> ToolOutput:
    z = list(a.logits)
    if a.target >= len(z):
        raise refuse(f"target = {a.target} is out of range for {len(z)} classes (0 to {len(z) - 1}).",
                     f"目标类别 {a.target} 超出范围：只有 {len(z)} 个类别（0 到 {len(z) - 1}）。",
                     "Pass the 0-based index of the true class.", "请给从 0 开始的类别下标。")
    if a.inputs == "probabilities":
        if any(p <= 0 for p in z) or abs(sum(z) - 1) > 1e-3:
            raise refuse(f"{fmt_list(z)} is not a probability distribution (positive, summing to 1).",
                         f"{fmt_list(z)} 不是概率分布（需全为正且和为 1）。",
                         "Give logits instead, or probabilities that sum to 1.", "请改给 logits，或给和为 1 的概率。")
        z = [math.log(p) for p in z]  # log-probabilities are valid logits: softmax gives the probabilities back
    plain = loss(z, a.target, 0.0)
    value = loss(z, a.target, a.label_smoothing)
    p = [math.exp(x) for x in log_softmax(z)]
    values = {"loss": r4(value), "plain_loss": r4(plain), "target_probability": r4(p[a.target]),
              "predicted_class": max(range(len(z)), key=lambda i: z[i])}
    if a.temperatures:
        values["by_temperature"] = [{"temperature": t, "loss": r4(loss([x / t for x in z], a.target, a.label_smoothing))}
                                    for t in a.temperatures]
    if a.label_smoothing:
        headline = {"en": f"Label-smoothed cross-entropy (ε = {a.label_smoothing:g}) = {value:.4f}; without smoothing it is {plain:.4f}.",
                    "zh": f"标签平滑（ε = {a.label_smoothing:g}）的交叉熵 = {value:.4f}；不做平滑时为 {plain:.4f}。"}
    else:
        headline = {"en": f"Cross-entropy = {plain:.4f} (nats).", "zh": f"交叉熵 = {plain:.4f}（单位：nat）。"}
    pred = values["predicted_class"]
    right = pred == a.target
    summary = {
        "en": f"It is −log softmax(z)[{a.target}] = −log {p[a.target]:.4f}; the model "
              f"{'predicts the target class' if right else f'predicts class {pred}, not the target'}.",
        "zh": f"即 −log softmax(z)[{a.target}] = −log {p[a.target]:.4f}；模型{'预测的正是目标类别' if right else f'预测为类别 {pred}，不是目标类别'}。",
    }
    if a.label_smoothing:
        summary["en"] += (f" With label smoothing PyTorch mixes in ε × the mean of −log p over all {len(z)} classes: "
                          f"(1 − {a.label_smoothing:g}) × {plain:.4f} + {a.label_smoothing:g} × {-sum(log_softmax(z)) / len(z):.4f}.")
        summary["zh"] += (f"标签平滑时 PyTorch 再加上 ε 乘以所有 {len(z)} 个类别 −log p 的平均："
                          f"(1 − {a.label_smoothing:g}) × {plain:.4f} + {a.label_smoothing:g} × {-sum(log_softmax(z)) / len(z):.4f}。")
    if a.temperatures:
        rows = "; ".join(f"T={r['temperature']:g}: {r['loss']:.4f}" for r in values["by_temperature"])
        summary["en"] += f" Dividing the logits by a temperature T: {rows}."
        summary["zh"] += f"logits 除以温度 T 后：{rows}。"
    return ToolOutput(headline, summary, values, _code(a, z))


def _code(a: CrossEntropyArgs, z: list[float]) -> str:
    start = (f"probs = torch.tensor({list(a.logits)!r}, dtype=torch.float64)\nlogits = probs.log()  # log-probabilities work as logits"
             if a.inputs == "probabilities" else f"logits = torch.tensor({z!r}, dtype=torch.float64)")
    temps = ""
    if a.temperatures:
        temps = (f'values["by_temperature"] = [{{"temperature": t, "loss": F.cross_entropy(logits / t, target, '
                 f'label_smoothing={a.label_smoothing!r}).item()}} for t in {list(a.temperatures)!r}]\n')
    return f"""import torch
import torch.nn.functional as F

{start}
target = torch.tensor({a.target})
values = {{
    "loss": F.cross_entropy(logits, target, label_smoothing={a.label_smoothing!r}).item(),
    "plain_loss": F.cross_entropy(logits, target).item(),
    "target_probability": logits.softmax(-1)[target].item(),
    "predicted_class": int(logits.argmax()),
}}
{temps}print(values)
"""


TARGET = (r"target(?:\s+(?:class|index|label))?|true\s+(?:class|label)|correct\s+class|ground[\s-]*truth|\blabel\b|\by\s*="
          r"|目标类别|目标类|目标|真实类别|真实标签|正确类别|标签(?:是|为)|类别下标")


def read(text: str) -> dict:
    found: dict = {}
    if n := rd.after(text, r"label[\s_-]*smoothing|标签平滑(?:系数)?|平滑系数|\bε|epsilon", 10):
        found["label_smoothing"] = n.value
        text = rd.blank(text, n.start, n.end)
    temps = []
    for values, start, end in rd.lists_after(text, r"temperatures?|温度(?:系数)?|(?<![a-z0-9_])t\s*(?=[=:]|为|取|是)"):
        temps += values
        text = rd.blank(text, start, end)
    if temps:
        found["temperatures"] = temps
    if n := (rd.after(text, TARGET, 14) or rd.before(text, r"类(?:别)?\s*(?:是|为)\s*(?:目标|正确)|is\s+(?:the\s+)?(?:target|correct)", 3)):
        found["target"] = n.as_int()
        text = rd.blank(text, n.start, n.end)
    elif m := re.search(r"(?:class|类别?)\s*#?\s*(\d+)\s*(?:is\s+)?(?:the\s+)?(?:target|correct|true|正确)", text):
        found["target"] = int(m.group(1))
        text = rd.blank(text, *m.span())
    lists = rd.number_lists(text)
    if lists:
        found["logits"] = lists[0]
        if re.search(r"概率|probabilit|\bprobs?\b|predicted\s+distribution", text) and all(0 < v <= 1 for v in lists[0]) \
                and abs(sum(lists[0]) - 1) < 1e-3:
            found["inputs"] = "probabilities"
    return found


TOOL = register(Tool(
    name="cross_entropy",
    label=("cross-entropy (also label-smoothed)", "交叉熵（含标签平滑）"),
    description="Cross-entropy F.cross_entropy(logits, target) as one number, optionally with PyTorch's label_smoothing, "
                "from logits or probabilities, and optionally per temperature T (logits / T).",
    args=CrossEntropyArgs,
    run=run,
    triggers=r"cross[\s_-]*entropy|交叉熵|\bce\s*loss|\bnll\b|负对数似然|log[\s-]*loss|label[\s_-]*smoothing|标签平滑",
    hints=(r"loss|损失", r"target|目标|标签|label", r"logits?"),
    read=read,
    aliases=("cross_entropy_temperature",),
))
