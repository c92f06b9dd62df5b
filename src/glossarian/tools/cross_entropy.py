"""cross_entropy_temperature tool: F.cross_entropy(logits / T, target) across temperatures, for a right or wrong prediction."""
from typing import Annotated

from glossarian.tools.figures import new_figure, to_png
from glossarian.tools.registry import Limits, ToolOutput, r4, require, tool
from glossarian.tools.softmax import Logit, Temperatures

ClassLogits = Annotated[list[Logit], Limits(min_items=2, max_items=64)]
ClassIndex = Annotated[int, Limits(ge=0, le=63)]


@tool
def cross_entropy_temperature(
    logits: ClassLogits = [1.0, 2.0, 3.0],
    target: ClassIndex = 2,
    temperatures: Temperatures = [0.5, 1.0, 2.0, 4.0],
) -> ToolOutput:
    """Cross-entropy with temperature: compute F.cross_entropy(logits / T, target) for each T, showing that a larger T raises the loss when the target is the top class and lowers it when the prediction is wrong.

    Args:
        logits: The raw class scores (2 to 64 numbers, each between -10000 and 10000).
        target: Index of the correct class (0-based, smaller than the number of logits).
        temperatures: The temperatures to compare (1 to 16 values, each between 0.01 and 100).
    """
    require(
        target < len(logits),
        f"target = {target} is out of range for {len(logits)} logits: it must be between 0 and {len(logits) - 1}.",
        f"Pass the 0-based index of the correct class, e.g. {len(logits) - 1} for the last logit.",
    )
    import torch
    import torch.nn.functional as F

    z = torch.tensor(logits)
    label = torch.tensor(target)
    rows = []
    for t in temperatures:
        loss = F.cross_entropy(z / t, label).item()
        p_target = torch.softmax(z / t, dim=-1)[target].item()
        rows.append({"temperature": t, "loss": r4(loss), "target_probability": r4(p_target)})
    values = {
        "predicted_class": int(z.argmax()),
        "target_is_argmax": bool(z[target] == z.max()),  # a tie for the top also counts as correct
        "rows": rows,
    }
    return ToolOutput(
        summary=_summary(logits, target, values),
        values=values,
        code=_code(logits, target, temperatures),
        figure_png=_figure(rows, target),
    )


def _trend(losses: list[float]) -> str:
    steps = [b - a for a, b in zip(losses, losses[1:])]
    if all(abs(s) < 1e-4 for s in steps):
        return "flat"
    if all(s > -1e-4 for s in steps):
        return "up"
    if all(s < 1e-4 for s in steps):
        return "down"
    return "mixed"


def _summary(logits: list[float], target: int, values: dict) -> dict[str, str]:
    rows = sorted(values["rows"], key=lambda r: r["temperature"])
    lo, hi = rows[0], rows[-1]
    trend = _trend([r["loss"] for r in rows])
    if values["target_is_argmax"]:
        tied = values["predicted_class"] != target
        en = f"Target class {target} {'ties for' if tied else 'has'} the largest logit, so it is classified correctly."
        zh = f"目标类别 {target} 的 logit {'并列' if tied else ''}最大，即分类正确。"
    else:
        en = f"Target class {target} is not the largest logit (the prediction is class {values['predicted_class']}), so it is misclassified."
        zh = f"目标类别 {target} 的 logit 不是最大（预测为类别 {values['predicted_class']}），即分类错误。"
    span_en = f"T from {lo['temperature']:g} to {hi['temperature']:g}"
    span_zh = f"T 从 {lo['temperature']:g} 增大到 {hi['temperature']:g}"
    move = f"{lo['loss']:.4f} to {hi['loss']:.4f}"
    move_zh = f"{lo['loss']:.4f} 变为 {hi['loss']:.4f}"
    if trend == "flat":
        en += f" The loss stays at {lo['loss']:.4f} for every temperature given (nothing to compare: equal logits or one temperature)."
        zh += f"在给定的温度下损失都是 {lo['loss']:.4f}（logits 全相等或只有一个温度，无从比较）。"
    elif trend == ("up" if values["target_is_argmax"] else "down"):
        verb_en, verb_zh = ("raises", "升高") if trend == "up" else ("lowers", "降低")
        why_en = "softening moves probability away from the right class" if trend == "up" else "softening gives the right class back some probability"
        why_zh = "软化分布把概率从正确类别上移走" if trend == "up" else "软化分布让正确类别分回一些概率"
        en += f" The values show it: raising {span_en} {verb_en} the loss from {move}, because {why_en}."
        zh += f"数值印证了这一点：{span_zh}，损失从 {move_zh}，{verb_zh}了——{why_zh}。"
    elif trend in ("up", "down"):  # e.g. a close runner-up whose probability peaks at moderate T
        verb_en, verb_zh = ("raises", "升高") if trend == "up" else ("lowers", "降低")
        en += f" Over these temperatures raising {span_en} {verb_en} the loss, from {move}."
        zh += f"在这些温度下，{span_zh}，损失从 {move_zh}，{verb_zh}了。"
    else:
        path = " → ".join(f"{r['loss']:.4f}" for r in rows)
        en += f" Here the loss does not move one way as T rises from {lo['temperature']:g} to {hi['temperature']:g}: {path}."
        zh += f"这里损失并非单调：{span_zh}，损失依次为 {path}。"
    return {"en": en, "zh": zh}


def _code(logits: list[float], target: int, temperatures: list[float]) -> str:
    return f"""import torch
import torch.nn.functional as F

logits = torch.tensor({logits!r})
target = torch.tensor({target})
rows = []
for t in {temperatures!r}:
    loss = F.cross_entropy(logits / t, target).item()
    p_target = torch.softmax(logits / t, dim=-1)[target].item()
    rows.append({{"temperature": t, "loss": loss, "target_probability": p_target}})
    print(f"T={{t:g}}: loss={{loss:.4f}}  p(target)={{p_target:.4f}}")
values = {{
    "predicted_class": int(logits.argmax()),
    "target_is_argmax": bool(logits[target] == logits.max()),
    "rows": rows,
}}
"""


def _figure(rows: list[dict], target: int) -> bytes:
    rows = sorted(rows, key=lambda r: r["temperature"])
    fig, ax = new_figure(6.0, 3.4)
    ts = [r["temperature"] for r in rows]
    ax.plot(ts, [r["loss"] for r in rows], marker="o", label="cross-entropy loss")
    ax.plot(ts, [r["target_probability"] for r in rows], marker="s", linestyle="--", label=f"p(class {target})")
    if max(ts) / min(ts) >= 8:
        ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(sorted(set(ts)), [f"{t:g}" for t in sorted(set(ts))])
    ax.set_xlabel("temperature T")
    ax.set_title(f"F.cross_entropy(logits / T, target={target})")
    ax.legend(fontsize=8)
    return to_png(fig)
