"""pooling calculator: output shape of global average pooling (GAP) or a windowed avg/max pool, by formula."""
from __future__ import annotations

import re
from typing import Literal

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Dim, Tool, ToolOutput, arg, refuse, register, shape


class PoolingArgs(Args):
    shape: list[Dim] = arg([2, 64, 7, 7], "input shape", "输入形状", "Input shape [N, C, H, W] or [C, H, W].",
                           min_length=3, max_length=4)
    kind: Literal["avg", "max"] = arg("avg", "pooling kind", "池化方式", "Average or max pooling.", quiet=True)
    kernel_size: int | None = arg(None, "window", "池化窗口", "Window size; null means global pooling over H×W.", quiet=True,
                                  ge=1, le=100_000)
    stride: int | None = arg(None, "stride", "步长", "Stride; null means the window size (PyTorch's default).", quiet=True,
                             ge=1, le=100_000)
    padding: int = arg(0, "padding", "padding", "Zero padding on each side.", quiet=True, ge=0, le=100_000)


def run(a: PoolingArgs) -> ToolOutput:
    dims = list(a.shape)
    if any(d < 1 for d in dims):
        raise refuse(f"shape {dims} has a dimension below 1.", f"形状 {dims} 里有小于 1 的维度。",
                     "Use positive sizes, e.g. [32, 2048, 7, 7].", "请用正整数，例如 [32, 2048, 7, 7]。")
    lead, (h, w) = dims[:-2], dims[-2:]
    name = "AdaptiveAvgPool2d(1)" if a.kind == "avg" else "AdaptiveMaxPool2d(1)"
    if a.kernel_size is None:
        out = lead + [1, 1]
        flat = lead[:-1] + [lead[-1]] if len(lead) == 2 else lead
        what_en = "global average pooling" if a.kind == "avg" else "global max pooling"
        what_zh = "全局平均池化" if a.kind == "avg" else "全局最大池化"
        headline = {"en": f"After {what_en}, {shape(dims)} becomes {shape(out)} (flattened: {shape(flat)}).",
                    "zh": f"{what_zh}之后，{shape(dims)} 变成 {shape(out)}（展平后为 {shape(flat)}）。"}
        summary = {"en": f"nn.{name} replaces each {h}×{w} channel map by its {'mean' if a.kind == 'avg' else 'maximum'} "
                         f"(of {h * w} values); channels stay {lead[-1]}, and it has no parameters.",
                   "zh": f"nn.{name} 把每个通道的 {h}×{w} 特征图换成它 {h * w} 个值的{'均值' if a.kind == 'avg' else '最大值'}；"
                         f"通道数仍是 {lead[-1]}，没有可学习参数。"}
        values = {"input_shape": dims, "output_shape": out, "flattened_shape": flat, "parameters": 0}
        code_layer = f"nn.{name}"
    else:
        s = a.stride or a.kernel_size
        ho, wo = ((x + 2 * a.padding - a.kernel_size) // s + 1 for x in (h, w))
        if ho < 1 or wo < 1 or a.padding > a.kernel_size // 2:
            raise refuse(f"A {a.kernel_size}×{a.kernel_size} window (padding {a.padding}) does not fit a {h}×{w} map.",
                         f"{a.kernel_size}×{a.kernel_size} 的窗口（padding {a.padding}）放不进 {h}×{w} 的特征图。",
                         "Use a smaller window; padding may be at most half the window.", "请用更小的窗口；padding 最多为窗口的一半。")
        out = lead + [ho, wo]
        cls = "MaxPool2d" if a.kind == "max" else "AvgPool2d"
        code_layer = f"nn.{cls}(kernel_size={a.kernel_size}, stride={s}, padding={a.padding})"
        headline = {"en": f"{code_layer} turns {shape(dims)} into {shape(out)}.",
                    "zh": f"{code_layer} 把 {shape(dims)} 变成 {shape(out)}。"}
        summary = {"en": f"Each spatial size is ⌊(H + 2p − k)/s⌋ + 1 = ⌊({h} + 2×{a.padding} − {a.kernel_size})/{s}⌋ + 1 = {ho}"
                         f" (width: {wo}); channels are unchanged and pooling has no parameters.",
                   "zh": f"空间尺寸 = ⌊(H + 2p − k)/s⌋ + 1 = ⌊({h} + 2×{a.padding} − {a.kernel_size})/{s}⌋ + 1 = {ho}"
                         f"（宽度为 {wo}）；通道数不变，池化没有参数。"}
        values = {"input_shape": dims, "output_shape": out, "parameters": 0}
    code = f"""import torch
from torch import nn

pool = {code_layer}
x = torch.empty({", ".join(map(str, dims))}, device="meta")  # meta: shapes only, no memory
y = pool(x)
values = {{"input_shape": list(x.shape), "output_shape": list(y.shape), "parameters": sum(p.numel() for p in pool.parameters())}}
{'values["flattened_shape"] = list(y.flatten(-3).shape)' if a.kernel_size is None else ''}
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    found: dict = {}
    if re.search(r"max\s*pool|最大池化|maxpool", text):
        found["kind"] = "max"
    # "2x2 max pool", "2×2 的池化窗口", or the size after the word: "max pooling 2x2 stride 2", "池化 3×3"
    m = (re.search(r"(\d+)\s*[x×*]\s*\d+\s*(?:的)?\s*(?:max|avg|average|平均|最大)?\s*(?:pool|池化|window|窗口)", text)
         or re.search(r"(?:pool(?:ing)?|池化)\s*(?:with\s+|of\s+|,\s*)?(?:(?:a\s+)?kernel(?:_size)?\s*(?:=|of)?\s*)?"
                      r"(\d+)\s*[x×*]\s*\d+(?![\d.]|\s*[x×*,]\s*\d)", text))
    if m:
        found["kernel_size"] = int(m.group(1))
        text = rd.blank(text, *m.span())
    elif n := rd.after(text, r"kernel(?:_size)?|池化核|窗口|window", 8):
        found["kernel_size"] = n.as_int()
        text = rd.blank(text, n.start, n.end)
    if "kernel_size" in found:
        if n := rd.after(text, r"stride|步长", 8):
            found["stride"] = n.as_int()
            text = rd.blank(text, n.start, n.end)
        if n := rd.after(text, r"padding|填充", 8):
            found["padding"] = n.as_int()
    for dims in rd.shapes(text, min_dims=3):
        found["shape"] = dims[:4] if len(dims) >= 4 else dims
        return found
    parts = {}
    if n := rd.keyed(text, r"channels?|通道数?|\bc\s*=", 8):
        parts["c"] = n.as_int()
        text = rd.blank(text, n.start, n.end)
    if n := rd.keyed(text, rd.BATCH + r"|张(?:图)?|images?|samples?|个样本", 8):
        parts["n"] = n.as_int()
        text = rd.blank(text, n.start, n.end)
    hw = [d for d in rd.shapes(text, min_dims=2) if len(d) == 2]
    if hw:
        parts["h"], parts["w"] = hw[0]
    if "c" in parts or "h" in parts:
        n, c, h, w = PoolingArgs().shape
        found["shape"] = [parts.get("n", n), parts.get("c", c), parts.get("h", h), parts.get("w", w)]
    return found


TOOL = register(Tool(
    name="pooling",
    label=("GAP / pooling output shape", "GAP/池化的输出形状"),
    description="Output shape of global average (or max) pooling, or of a windowed AvgPool2d/MaxPool2d, by formula.",
    args=PoolingArgs,
    run=run,
    triggers=r"global\s+(?:average|avg|mean|max)\s+pool|adaptive_?(?:avg|max)_?pool|全局(?:平均|最大)?池化|平均池化|最大池化|"
             r"avgpool|maxpool|\bgap\b|\bpool(?:ing)?\b|池化",
    hints=(r"形状|shape|输出|output", r"feature\s+map|特征图|channels?|通道"),
    read=read,
    aliases=("global_average_pooling",),
))
