"""warmup_schedule tool: learning rate per epoch/step from a real torch LambdaLR with linear warm-up, plotted."""
from typing import Annotated, Literal

from glossarian.tools.figures import new_figure, to_png
from glossarian.tools.registry import Limits, ToolOutput, r4_all, require, tool

LearningRate = Annotated[float, Limits(ge=0, le=10)]
PeakRate = Annotated[float, Limits(gt=0, le=10)]
WarmupSteps = Annotated[int, Limits(ge=0, le=10_000)]
TotalSteps = Annotated[int, Limits(ge=1, le=10_000)]


@tool
def warmup_schedule(
    base_lr: PeakRate = 0.1,
    warmup_steps: WarmupSteps = 5,
    total_steps: TotalSteps = 30,
    after: Literal["constant", "cosine", "linear"] = "cosine",
    start_lr: LearningRate = 0.0,
    unit: Literal["epoch", "step"] = "epoch",
) -> ToolOutput:
    """Learning-rate warm-up: rise linearly from start_lr to base_lr over the first warmup_steps, then stay constant or decay (cosine or linear) to 0 by total_steps; list and plot the lr of every epoch or step.

    Args:
        base_lr: The peak learning rate reached at the end of warm-up (greater than 0, at most 10).
        warmup_steps: Number of warm-up epochs or steps (0 to 10000, at most total_steps).
        total_steps: Total number of epochs or steps, warm-up included (1 to 10000).
        after: What follows warm-up: "constant", "cosine" decay or "linear" decay.
        start_lr: The learning rate at index 0 (0 to base_lr).
        unit: Whether one index is an "epoch" or an optimizer "step" (only changes the labels).
    """
    require(
        warmup_steps <= total_steps,
        f"warmup_steps = {warmup_steps} is more than total_steps = {total_steps}.",
        "Warm-up is part of training: use warmup_steps ≤ total_steps, e.g. 5 of 30.",
    )
    require(
        start_lr <= base_lr,
        f"start_lr = {start_lr:g} is above base_lr = {base_lr:g}; warm-up rises from start_lr to base_lr.",
        "Use a start_lr between 0 and base_lr, e.g. 0.",
    )
    import math

    import torch

    def factor(i: int) -> float:  # multiplier of base_lr at index i
        if i < warmup_steps:
            return (start_lr + (base_lr - start_lr) * i / warmup_steps) / base_lr
        # max(.., 1): LambdaLR also evaluates one index past the end, where warm-up may fill the run
        t, n = i - warmup_steps, max(total_steps - warmup_steps, 1)
        if after == "cosine":
            return 0.5 * (1 + math.cos(math.pi * t / n))
        if after == "linear":
            return 1 - t / n
        return 1.0

    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=factor)
    lrs = []
    for _ in range(total_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()

    values = {"lrs": r4_all(lrs), "peak_lr": r4_all(max(lrs)), "final_lr": r4_all(lrs[-1])}
    return ToolOutput(
        summary=_summary(values["lrs"], base_lr, warmup_steps, total_steps, after, start_lr, unit),
        values=values,
        code=_code(base_lr, warmup_steps, total_steps, after, start_lr),
        figure_png=_figure(values["lrs"], warmup_steps, unit),
    )


def _summary(lrs: list[float], base_lr: float, warmup: int, total: int, after: str, start_lr: float, unit: str) -> dict[str, str]:
    units_zh = "个 epoch " if unit == "epoch" else "步"

    def at_zh(i: int) -> str:
        return f"第 {i} 个 epoch " if unit == "epoch" else f"第 {i} 步"

    if warmup:
        en = (
            f"Linear warm-up from {start_lr:g} to {base_lr:g} over the first {warmup} {unit}s "
            f"({unit} 0: {lrs[0]:g}, {unit} {warmup - 1}: {lrs[warmup - 1]:g})"
        )
        zh = f"前 {warmup} {units_zh}学习率从 {start_lr:g} 线性升到 {base_lr:g}（{at_zh(0)}为 {lrs[0]:g}，{at_zh(warmup - 1)}为 {lrs[warmup - 1]:g}）"
    else:
        en, zh = "No warm-up", "没有预热"
    rest = total - warmup
    if rest == 0:
        en += "; training ends when warm-up does."
        zh += "；预热结束即训练结束。"
    elif after == "constant":
        en += f", then a constant {base_lr:g} for the remaining {rest} {unit}s."
        zh += f"，之后 {rest} {units_zh}保持 {base_lr:g} 不变。"
    else:
        name_zh = "余弦" if after == "cosine" else "线性"
        en += f", then {after} decay over {rest} {unit}s from {base_lr:g} at {unit} {warmup} to {lrs[-1]:g} at {unit} {total - 1}."
        zh += f"，之后 {rest} {units_zh}{name_zh}衰减：从{at_zh(warmup)}的 {base_lr:g} 降到{at_zh(total - 1)}的 {lrs[-1]:g}。"
    en += " Indices are 0-based, as LambdaLR counts."
    zh += "序号从 0 开始，与 LambdaLR 的计数一致。"
    return {"en": en, "zh": zh}


def _code(base_lr: float, warmup: int, total: int, after: str, start_lr: float) -> str:
    decay = {
        "cosine": "0.5 * (1 + math.cos(math.pi * t / n))",
        "linear": "1 - t / n",
        "constant": "1.0",
    }[after]
    return f"""import math
import torch

base_lr, start_lr, warmup_steps, total_steps = {base_lr!r}, {start_lr!r}, {warmup}, {total}

def factor(i):  # LambdaLR multiplies base_lr by this at index i
    if i < warmup_steps:
        return (start_lr + (base_lr - start_lr) * i / warmup_steps) / base_lr
    t, n = i - warmup_steps, max(total_steps - warmup_steps, 1)
    return {decay}

weight = torch.nn.Parameter(torch.zeros(1))
optimizer = torch.optim.SGD([weight], lr=base_lr)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=factor)
lrs = []
for i in range(total_steps):
    lrs.append(optimizer.param_groups[0]["lr"])
    optimizer.step()  # (a real loop would compute a loss and backward() first)
    scheduler.step()
print([round(lr, 6) for lr in lrs])
values = {{"lrs": lrs, "peak_lr": max(lrs), "final_lr": lrs[-1]}}
"""


def _figure(lrs: list[float], warmup: int, unit: str) -> bytes:
    fig, ax = new_figure(6.4, 3.4)
    if warmup:
        ax.axvspan(-0.5, warmup - 0.5, color="orange", alpha=0.2, label="warm-up")
    ax.plot(range(len(lrs)), lrs, marker="o" if len(lrs) <= 60 else None, markersize=3, label="learning rate")
    ax.set_xlabel(unit)
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    ax.set_title("learning-rate schedule (LambdaLR)")
    ax.legend(fontsize=8)
    return to_png(fig)
