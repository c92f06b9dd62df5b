"""lr_schedule calculator: the learning rate at step k under linear warm-up, then cosine / linear decay or a constant.

The convention is Hugging Face's get_*_schedule_with_warmup: lr(k) = start + (peak − start)·k/W during warm-up,
then progress = (k − W)/(total − W) drives the decay to min_lr. A torch LambdaLR in the snippet reproduces it.
"""
from __future__ import annotations

import math
import re
from typing import Literal

from glossarian.tools import reading as rd
from glossarian.tools.figures import new_figure, to_png
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, num, r4, refuse, register

Steps = int


class ScheduleArgs(Args):
    peak_lr: float = arg(0.1, "peak learning rate", "峰值学习率", "The learning rate at the end of warm-up.", gt=0, le=100)
    warmup_steps: int = arg(0, "warm-up steps", "预热步数", "Length of the linear warm-up.", ge=0, le=100_000_000)
    total_steps: int | None = arg(None, "total steps", "总步数", "All steps, warm-up included; needed after warm-up.", ge=1,
                                  le=100_000_000)
    step: int | None = arg(None, "step", "第几步", "The step k to report (0-based, as LambdaLR counts).", quiet=True, ge=0,
                           le=100_000_000)
    after: Literal["cosine", "linear", "constant"] = arg("cosine", "decay after warm-up", "预热后的衰减方式",
                                                        "What follows warm-up.")
    start_lr: float = arg(0.0, "starting learning rate", "起始学习率", "Learning rate at step 0 of warm-up.", ge=0, le=100)
    min_lr: float = arg(0.0, "final learning rate", "最低学习率", "Where the decay ends.", quiet=True, ge=0, le=100)
    unit: Literal["step", "epoch"] = arg("step", "unit", "单位", "Whether one index is an optimizer step or an epoch.", quiet=True)


def lr_at(k: int, a: ScheduleArgs, total: int) -> float:
    if k < a.warmup_steps:
        return a.start_lr + (a.peak_lr - a.start_lr) * k / a.warmup_steps
    if a.after == "constant":
        return a.peak_lr
    progress = min(1.0, (k - a.warmup_steps) / max(1, total - a.warmup_steps))
    shape = 0.5 * (1 + math.cos(math.pi * progress)) if a.after == "cosine" else 1 - progress
    return a.min_lr + (a.peak_lr - a.min_lr) * shape


def run(a: ScheduleArgs) -> ToolOutput:
    if a.start_lr > a.peak_lr or a.min_lr > a.peak_lr:
        raise refuse("The starting and final learning rates must not exceed the peak.", "起始和最低学习率不能高于峰值学习率。",
                     "E.g. start 0, peak 3e-4, final 0.", "例如起始 0、峰值 3e-4、最低 0。")
    total = a.total_steps
    if total is not None and a.warmup_steps > total:
        raise refuse(f"{a.warmup_steps} warm-up steps are more than the {total} total steps.", f"预热 {a.warmup_steps} 步比总步数 {total} 还多。",
                     "Warm-up is part of training: use warm-up ≤ total.", "预热是训练的一部分：预热步数应 ≤ 总步数。")
    needs_total = a.after != "constant" and (a.step is None or a.step >= a.warmup_steps)
    if total is None and needs_total and a.step is not None:
        raise refuse(f"Step {a.step} is after warm-up, so the decay needs the total number of steps.",
                     f"第 {a.step} 步已经过了预热，衰减阶段要知道总步数才能算。",
                     "Say e.g. '10000 total steps'.", "请说明总步数，例如“共 10000 步”。")
    total = total or max(a.warmup_steps * 10, 30, (a.step or 0) + 1)
    u_en = a.unit
    u_zh = "步" if a.unit == "step" else "个 epoch"
    sched_en = ("linear warm-up" + (f" over {num(a.warmup_steps)} {u_en}s" if a.warmup_steps else "")) if a.warmup_steps else "no warm-up"
    decay_en = {"cosine": "cosine decay", "linear": "linear decay", "constant": "constant"}[a.after]
    decay_zh = {"cosine": "余弦衰减", "linear": "线性衰减", "constant": "保持不变"}[a.after]
    values: dict = {"peak_lr": a.peak_lr, "total_steps": total}
    if a.step is not None:
        lr = lr_at(a.step, a, total)
        values["lr"] = lr
        phase_en = "warm-up" if a.step < a.warmup_steps else decay_en
        headline = {"en": f"The learning rate at {u_en} {num(a.step)} is {num(lr)}.",
                    "zh": f"第 {num(a.step)} {u_zh}的学习率是 {num(lr)}。"}
        if a.step < a.warmup_steps:
            how_en = (f"{a.step} is inside the {num(a.warmup_steps)}-{u_en} warm-up: {num(a.start_lr)} + ({num(a.peak_lr)} − {num(a.start_lr)}) × "
                      f"{num(a.step)}/{num(a.warmup_steps)} = {num(lr)}.")
            how_zh = (f"第 {num(a.step)} {u_zh}还在 {num(a.warmup_steps)} {u_zh}的预热里：{num(a.start_lr)} + ({num(a.peak_lr)} − {num(a.start_lr)}) × "
                      f"{num(a.step)}/{num(a.warmup_steps)} = {num(lr)}。")
            if a.total_steps is None:
                how_en += " The total length does not matter during warm-up."
                how_zh += "预热阶段的值与总步数无关。"
        else:
            progress = min(1.0, (a.step - a.warmup_steps) / max(1, total - a.warmup_steps))
            how_en = (f"Warm-up is over; {phase_en} has progressed ({num(a.step)} − {num(a.warmup_steps)}) / ({num(total)} − "
                      f"{num(a.warmup_steps)}) = {progress:.4f} of the way from {num(a.peak_lr)} to {num(a.min_lr)}.")
            how_zh = (f"预热已结束；{decay_zh}进行到 ({num(a.step)} − {num(a.warmup_steps)}) / ({num(total)} − {num(a.warmup_steps)}) = "
                      f"{progress:.4f}，从 {num(a.peak_lr)} 降向 {num(a.min_lr)}。")
            if a.after == "constant":
                how_en, how_zh = "Warm-up is over and the rate stays at the peak.", "预热已结束，学习率保持在峰值。"
    else:
        lrs = [lr_at(k, a, total) for k in range(total)] if total <= 100_000 else []
        values["final_lr"] = lr_at(total - 1, a, total)
        rise_en = f"rises to {num(a.peak_lr)} at {u_en} {num(a.warmup_steps)}" if a.warmup_steps else f"starts at {num(a.peak_lr)}"
        rise_zh = f"在第 {num(a.warmup_steps)} {u_zh}升到 {num(a.peak_lr)}" if a.warmup_steps else f"从 {num(a.peak_lr)} 开始"
        headline = {"en": f"The learning rate {rise_en} and is {num(values['final_lr'])} at the last {u_en} ({num(total - 1)}).",
                    "zh": f"学习率{rise_zh}，最后一{'步' if a.unit == 'step' else '个 epoch'}（第 {num(total - 1)} {u_zh}）为 {num(values['final_lr'])}。"}
        if 0 < len(lrs) <= 60:
            values["lrs"] = [r4(x) for x in lrs]
        how_en = how_zh = ""
    total_en = f"{num(total)} {u_en}s in total" + (" (assumed; the question gives no total)" if a.total_steps is None else "")
    total_zh = f"共 {num(total)} {u_zh}" + ("（问题没给总步数，这是假设值）" if a.total_steps is None else "")
    summary = {"en": f"Schedule: {sched_en} from {num(a.start_lr)} to {num(a.peak_lr)}, then {decay_en}"
                     f"{f' to {num(a.min_lr)}' if a.after != 'constant' else ''} over {total_en}; {u_en}s count from 0. {how_en}".strip(),
               "zh": (f"调度：前 {num(a.warmup_steps)} {u_zh}从 {num(a.start_lr)} 线性预热到 {num(a.peak_lr)}，" if a.warmup_steps else "没有预热，")
                     + f"之后{decay_zh}{f'到 {num(a.min_lr)}' if a.after != 'constant' else ''}，{total_zh}；从 0 开始计数。{how_zh}"}
    return ToolOutput(headline, summary, values, _code(a, total), _figure(a, total))


def _code(a: ScheduleArgs, total: int) -> str:
    decay = {"cosine": "0.5 * (1 + math.cos(math.pi * progress))", "linear": "1 - progress", "constant": "1.0"}[a.after]
    k = a.step if a.step is not None else total - 1
    lrs = 'values["lrs"] = lrs\n' if a.step is None and total <= 60 else ""
    return f"""import math
import torch

peak_lr, start_lr, min_lr = {a.peak_lr!r}, {a.start_lr!r}, {a.min_lr!r}
warmup_steps, total_steps = {a.warmup_steps}, {total}


def lr_lambda(k):  # LambdaLR multiplies peak_lr by this at step k
    if k < warmup_steps:
        return (start_lr + (peak_lr - start_lr) * k / warmup_steps) / peak_lr
    progress = min(1.0, (k - warmup_steps) / max(1, total_steps - warmup_steps))
    return (min_lr + (peak_lr - min_lr) * ({decay})) / peak_lr


weight = torch.nn.Parameter(torch.zeros(1))
optimizer = torch.optim.SGD([weight], lr=peak_lr)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
lrs = []
for k in range({k + 1}):
    lrs.append(optimizer.param_groups[0]["lr"])  # the lr used at step k
    optimizer.step()  # (a real loop computes a loss and calls backward() first)
    scheduler.step()
values = {{"peak_lr": peak_lr, "total_steps": total_steps, "{'lr' if a.step is not None else 'final_lr'}": lrs[{k}]}}
{lrs}print(values)
"""


def _figure(a: ScheduleArgs, total: int) -> bytes:
    every = max(1, total // 400)
    ks = list(range(0, total, every))
    fig, ax = new_figure(6.4, 3.4)
    if a.warmup_steps:
        ax.axvspan(0, a.warmup_steps, color="orange", alpha=0.2, label="warm-up")
    ax.plot(ks, [lr_at(k, a, total) for k in ks], label="learning rate")
    if a.step is not None:
        ax.plot([a.step], [lr_at(a.step, a, total)], "o", color="red", label=f"{a.unit} {a.step}")
    ax.set_xlabel(a.unit)
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    ax.set_title(f"warm-up + {a.after} (LambdaLR)")
    ax.legend(fontsize=8)
    return to_png(fig)


UNIT = r"(?:个\s*)?(?:epochs?|steps?|iterations?|iters?|轮|步|次迭代|次)"
WARMUP = r"warm\s*-?\s*up|预热"
TOKEN = r"(?<![\d.])(\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?[km万千]?)(?![\d.])"


def read(text: str) -> dict:
    found: dict = {}
    if re.search(r"epochs?|轮", text) and not re.search(r"steps?\b|步|iterations?|iters?\b", text):
        found["unit"] = "epoch"
    elif re.search(r"steps?\b|步|iterations?|iters?\b|次迭代", text):
        found["unit"] = "step"
    if m := re.search(rf"第\s*(\d[\d,]*k?)\s*{UNIT}|(?:at|in|after|for|on)\s+(?:the\s+)?(?:step|iteration|iter|epoch)\s+(\d[\d,]*k?)|"
                      rf"(?<![a-z_])(?:step|iteration|epoch)\s*(?:=|#|:)?\s*(\d[\d,]*k?)(?!\s*(?:warm|total|in\s+total|步))", text):
        raw = next(g for g in m.groups() if g)
        nums = rd.numbers(raw.replace(",", "") if not re.fullmatch(r"\d{1,3}(,\d{3})+", raw) else raw.replace(",", ""))
        if nums:
            found["step"] = nums[0].as_int()
            text = rd.blank(text, *m.span())
    for pattern in (rf"(?:{WARMUP})(?:[_\s]*(?:steps?|epochs?|步数|阶段))?\s*(?:(?:for|of|over|during|lasts?|is|=|:|为|是|了|the|first|前)\s*)*{TOKEN}",
                    rf"{TOKEN}[\s-]*{UNIT}\s*(?:的|of)?\s*(?:linear\s+|线性)?(?:{WARMUP})",  # "a 1000-step warmup"
                    rf"{TOKEN}\s*(?:个\s*)?(?:{WARMUP})\s*{UNIT}",
                    rf"(?:前|first)\s*{TOKEN}\s*{UNIT}",
                    rf"(?:{WARMUP})[^;\n]{{0,40}}?(?:over|for|during|in|用|持续)\s*(?:the\s+first\s+)?{TOKEN}\s*{UNIT}"):
        for m in re.finditer(pattern, text):
            token = m.group(1).replace(",", "")
            nums = rd.numbers(token)
            if nums and nums[0].whole and nums[0].value >= 1 and len(token) == nums[0].end - nums[0].start:
                found["warmup_steps"] = nums[0].as_int()
                text = rd.blank(text, *m.span(1))
                break
        if "warmup_steps" in found:
            break
    total = (rd.after(text, r"total(?:[_\s]*steps)?|in\s+total|总共|一共|总计|总步数|共计?|训练(?:了)?|(?:then\s+)?(?:cosine|linear|decay)\s+over|run\s+for", 12)
             or rd.before(text, rf"{UNIT}?\s*(?:in\s+total|in\s+all|total|总共|总计|in\s+training)", 8))
    if total and total.whole and total.value >= 1:
        found["total_steps"] = total.as_int()
        text = rd.blank(text, total.start, total.end)
    if n := rd.after(text, r"start(?:ing)?[_\s]*(?:lr|learning\s+rate)|initial\s+lr|起始学习率|初始学习率|从|from", 4):
        if not n.whole or n.value < 1:
            found["start_lr"] = float(n.value)
            text = rd.blank(text, n.start, n.end)
    if n := rd.after(text, r"min(?:imum)?[_\s]*(?:lr|learning\s+rate)|final\s+lr|eta_min|最低学习率|最小学习率|衰减到|降到|decays?\s+to|down\s+to", 6):
        found["min_lr"] = float(n.value)
        text = rd.blank(text, n.start, n.end)
    if n := rd.after(text, r"peak(?:[_\s]*(?:lr|learning\s+rate))?|max(?:imum)?[_\s]*(?:lr|learning\s+rate)|base[_\s]*lr|峰值(?:学习率)?|最大学习率|"
                           r"learning\s+rate|\blr\b|学习率|升到|增加到|涨到|到|(?<![a-z])to|reach(?:es|ing)?", 8):
        if not n.whole or n.value < 1:
            found["peak_lr"] = float(n.value)
    if re.search(r"cosine(?!\s*similar)|余弦(?!相似)", text):
        found["after"] = "cosine"
    elif re.search(r"linear(?:ly)?\s+(?:decay|anneal)|(?:then|再|之后|然后)\s*linear|线性(?:衰减|下降|递减)", text):
        found["after"] = "linear"
    elif re.search(r"constant|常数|恒定|保持不变|不变|固定", text) or ("warmup_steps" in found and "total_steps" not in found
                                                                     and not re.search(r"decay|衰减|anneal|退火", text)):
        found["after"] = "constant"
    return found


TOOL = register(Tool(
    name="lr_schedule",
    label=("learning rate at step k (warm-up, cosine, linear)", "第 k 步的学习率（预热、余弦、线性）"),
    description="Learning rate at step k (or the whole curve) for linear warm-up followed by cosine decay, linear decay "
                "or a constant, as Hugging Face's get_*_schedule_with_warmup defines it.",
    args=ScheduleArgs,
    run=run,
    triggers=rf"{WARMUP}|cosine\s+(?:decay|annealing|schedule)|余弦(?:退火|衰减)|learning[\s-]+rate\s+schedul|lr\s+schedul|学习率(?:调度|策略|曲线)|"
             r"(?:learning\s+rate|\blr\b|学习率).{0,40}(?:第\s*\d|\bstep\s+\d|at\s+step)",
    hints=(r"learning\s+rate|学习率|\blr\b", r"schedul|调度|策略", r"cosine|余弦|退火|anneal", r"第\s*\d|at\s+step"),
    read=read,
    aliases=("warmup_schedule",),
))
