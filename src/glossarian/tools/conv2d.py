"""conv2d calculator: output shape and parameter count of nn.Conv2d, by formula (no tensor is allocated)."""
from __future__ import annotations

import re
from typing import Literal

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, num, refuse, register, shape

Focus = Literal["both", "shape", "parameters"]


class Conv2dArgs(Args):
    in_channels: int = arg(64, "input channels", "输入通道数", "Input channels C_in.", ge=1, le=1_000_000)
    out_channels: int = arg(64, "output channels", "输出通道数", "Output channels C_out.", ge=1, le=1_000_000)
    kernel_size: int = arg(3, "kernel size", "卷积核大小", "Square kernel size k.", ge=1, le=1_000)
    stride: int = arg(1, "stride", "步长", "Stride.", quiet=True, ge=1, le=1_000)
    padding: int = arg(0, "padding", "padding", "Zero padding on each side (PyTorch's default is 0).", ge=0, le=1_000)
    dilation: int = arg(1, "dilation", "空洞率", "Dilation.", quiet=True, ge=1, le=1_000)
    groups: int = arg(1, "groups", "分组数", "Groups (in_channels for a depthwise conv).", quiet=True, ge=1, le=1_000_000)
    bias: bool = arg(True, "bias", "偏置", "Whether the conv has a bias (PyTorch's default: true).")
    batch: int = arg(1, "batch size", "batch 大小", "Batch size N of the input.", ge=1, le=1_000_000)
    height: int = arg(56, "input height", "输入高度", "Input height H.", ge=1, le=1_000_000)
    width: int = arg(56, "input width", "输入宽度", "Input width W.", ge=1, le=1_000_000)
    focus: Focus = arg("both", "asked for", "所问的量", "Which figure the question asks for (put first).", quiet=True)


def out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def run(a: Conv2dArgs) -> ToolOutput:
    for name, channels in (("in_channels", a.in_channels), ("out_channels", a.out_channels)):
        if channels % a.groups:
            raise refuse(f"{name} = {channels} is not divisible by groups = {a.groups}.",
                         f"通道数 {channels} 不能被分组数 {a.groups} 整除。",
                         "Use channel counts that are multiples of groups.", "请让通道数是分组数的整数倍。")
    ho = out_size(a.height, a.kernel_size, a.stride, a.padding, a.dilation)
    wo = out_size(a.width, a.kernel_size, a.stride, a.padding, a.dilation)
    if ho < 1 or wo < 1:
        raise refuse(f"A {a.height}×{a.width} input is smaller than the {a.kernel_size}×{a.kernel_size} kernel's reach.",
                     f"{a.height}×{a.width} 的输入比 {a.kernel_size}×{a.kernel_size} 卷积核的覆盖范围还小，输出为空。",
                     "Use a larger input or more padding.", "请加大输入尺寸或 padding。")
    weights = a.out_channels * (a.in_channels // a.groups) * a.kernel_size ** 2
    params = weights + (a.out_channels if a.bias else 0)
    out = [a.batch, a.out_channels, ho, wo]
    values = {"output_shape": out, "parameters": params, "weight_parameters": weights,
              "weight_shape": [a.out_channels, a.in_channels // a.groups, a.kernel_size, a.kernel_size],
              "bias_parameters": a.out_channels if a.bias else 0}
    layer = _layer(a)
    p_en, p_zh = f"{num(params)} parameters", f"参数量 {num(params)}"
    s_en, s_zh = f"output shape {shape(out)}", f"输出形状 {shape(out)}"
    if a.focus == "parameters":
        en, zh = f"{layer} has {p_en}; {s_en}.", f"{layer} 的{p_zh}；{s_zh}。"
    else:
        en, zh = f"{layer} gives {s_en}; {p_en}.", f"{layer} 的{s_zh}，{p_zh}。"
    formula_p = f"{a.out_channels} × {a.in_channels // a.groups} × {a.kernel_size}×{a.kernel_size}" + (f" + {a.out_channels}" if a.bias else "")
    formula_h = f"⌊({a.height} + 2×{a.padding} − {a.dilation}×({a.kernel_size}−1) − 1) / {a.stride}⌋ + 1 = {ho}"
    summary = {
        "en": f"Parameters = C_out × C_in/groups × k×k{' + C_out (bias)' if a.bias else ''} = {formula_p} = {num(params)}. "
              f"Output height = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1 = {formula_h} (width likewise: {wo}), "
              f"for an input {shape([a.batch, a.in_channels, a.height, a.width])}.",
        "zh": f"参数量 = C_out × C_in/groups × k×k{' + C_out（偏置）' if a.bias else ''} = {formula_p} = {num(params)}。"
              f"输出高度 = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1 = {formula_h}（宽度同理为 {wo}），"
              f"输入为 {shape([a.batch, a.in_channels, a.height, a.width])}。",
    }
    return ToolOutput({"en": en, "zh": zh}, summary, values, _code(a))


def _layer(a: Conv2dArgs) -> str:
    extra = "".join(f", {k}={v}" for k, v, d in (("stride", a.stride, 1), ("padding", a.padding, 0), ("dilation", a.dilation, 1),
                                                ("groups", a.groups, 1)) if v != d)
    return f"nn.Conv2d({a.in_channels}, {a.out_channels}, kernel_size={a.kernel_size}{extra}{'' if a.bias else ', bias=False'})"


def _code(a: Conv2dArgs) -> str:
    return f"""import torch
from torch import nn

layer = {_layer(a).replace('nn.Conv2d(', 'nn.Conv2d(', 1)[:-1]}, device="meta")  # meta: shapes only, no memory
x = torch.empty({a.batch}, {a.in_channels}, {a.height}, {a.width}, device="meta")
y = layer(x)
values = {{
    "output_shape": list(y.shape),
    "parameters": sum(p.numel() for p in layer.parameters()),
    "weight_parameters": layer.weight.numel(),
    "weight_shape": list(layer.weight.shape),
    "bias_parameters": layer.bias.numel() if layer.bias is not None else 0,
}}
print(values)
"""


KERNEL_WORDS = r"\s*(?:的)?\s*(?:conv|卷积|kernel|depthwise|深度|filter)"


def read(text: str) -> dict:
    found: dict = {}
    written = rd.call_args(text, "conv2d")
    if written:
        pos, kw, span = written
        for key, value in zip(("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"), pos):
            found[key] = value
        for key in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"):
            if isinstance(kw.get(key), (int, float)):
                found[key] = kw[key]
        if kw.get("bias") == "false":
            found["bias"] = False
        text = rd.blank(text, *span)
    if m := re.search(rf"(?<![\d.])(\d+)\s*[x×*]\s*(\d+){KERNEL_WORDS}|(?:kernel(?:_size)?|卷积核(?:大小)?|核大小)\s*(?:=|:|为|是|of)?\s*(\d+)", text):
        found.setdefault("kernel_size", int(m.group(1) or m.group(3)))
        text = rd.blank(text, *m.span())
    elif re.search(r"pointwise|逐点|conv1x1", text):
        found.setdefault("kernel_size", 1)
    if io := rd.in_out(text):
        found.setdefault("in_channels", io[0])
        found.setdefault("out_channels", io[1])
        text = rd.blank(text, *io[2])
    for key, keys in (("in_channels", r"in_channels|输入通道数?|input\s+channels"),
                      ("out_channels", r"out_channels|输出通道数?|output\s+channels|filters|卷积核个数"),
                      ("stride", r"stride|步长|步幅"), ("padding", r"padding|\bpad\b|填充"),
                      ("dilation", r"dilation|空洞率|膨胀率"), ("groups", r"groups|分组数?")):
        if key not in found and (n := rd.after(text, keys, 8)):
            found[key] = n.as_int()
            text = rd.blank(text, n.start, n.end)
    if re.search(r"same\s+padding|padding\s*=\s*['\"]?same", text) and "kernel_size" in found:
        found.setdefault("padding", (int(found["kernel_size"]) - 1) // 2)
    for dims in rd.shapes(text):
        if len(dims) == 4:
            found.setdefault("batch", dims[0])
            found.setdefault("in_channels", dims[1])
            found.setdefault("height", dims[2])
            found.setdefault("width", dims[3])
            break
        if len(dims) == 3:
            found.setdefault("in_channels", dims[0])
            found.setdefault("height", dims[1])
            found.setdefault("width", dims[2])
            break
        if len(dims) == 2:
            found.setdefault("height", dims[0])
            found.setdefault("width", dims[1])
            break
    if "out_channels" not in found and (m := re.search(r"输出\s*(\d+)\s*(?:个)?\s*通道|(\d+)\s*(?:output|out)\s*channels|"
                                                        r"(?:to|into|输出为?|变成)\s*(\d+)\s*(?:个)?\s*(?:channels|通道)", text)):
        found["out_channels"] = int(next(g for g in m.groups() if g))
    if "batch" not in found and (n := rd.after(text, rd.BATCH, 8)):
        found["batch"] = n.as_int()
    if re.search(r"depthwise|深度卷积|逐通道", text) and "in_channels" in found:
        found.setdefault("groups", found["in_channels"])
        found.setdefault("out_channels", found["in_channels"])
    if (b := rd.flag(text, rd.WITH_BIAS, rd.NO_BIAS)) is not None:
        found["bias"] = b
    if re.search(r"参数|param", text) and not re.search(r"形状|shape|尺寸|size", text):
        found["focus"] = "parameters"
        found["_irrelevant"] = ["batch", "height", "width", "padding"]  # a parameter count does not depend on them
    elif re.search(r"形状|shape|尺寸|output\s+size", text) and not re.search(r"参数|param", text):
        found["focus"] = "shape"
    return found


TOOL = register(Tool(
    name="conv2d",
    label=("conv2d shape and parameters", "卷积层的输出形状与参数量"),
    description="Output shape and parameter count of nn.Conv2d (any kernel, stride, padding, dilation, groups, bias), "
                "computed by formula; also 1x1 (pointwise) bottleneck projections.",
    args=Conv2dArgs,
    run=run,
    triggers=r"conv2d|convolution|\bconv\b|卷积|1\s*[x×*]\s*1|pointwise|逐点|降维|升维|projection|投影",
    hints=(r"参数|param", r"形状|shape|输出|output", r"stride|padding|步长|kernel|卷积核", r"channels?|通道"),
    read=read,
    aliases=("bottleneck_projection",),
))
