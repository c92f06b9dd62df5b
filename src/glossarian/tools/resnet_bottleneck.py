"""resnet_bottleneck calculator: parameters and output shape of a ResNet bottleneck block (1×1 → 3×3 → 1×1), by formula."""
from __future__ import annotations

import re

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, num, register, shape


class BottleneckArgs(Args):
    in_channels: int = arg(256, "input channels", "输入通道数", "Channels entering the block.", ge=1, le=100_000)
    mid_channels: int = arg(64, "bottleneck width", "中间（瓶颈）通道数", "Width of the 1×1 reduction and the 3×3 conv.", ge=1, le=100_000)
    out_channels: int = arg(256, "output channels", "输出通道数", "Channels leaving the block (ResNet: 4 × width).", ge=1, le=100_000)
    stride: int = arg(1, "stride", "步长", "Stride of the 3×3 conv (2 halves H and W).", quiet=True, ge=1, le=4)
    batch_norm: bool = arg(True, "BatchNorm after each conv", "每个卷积后接 BatchNorm", "ResNet has a BatchNorm after every conv.")
    bias: bool = arg(False, "conv bias", "卷积偏置", "ResNet's convs have no bias (BatchNorm follows).", quiet=True)
    height: int = arg(56, "input height and width", "输入高宽", "Input height = width (56 in ResNet-50's first stage).", quiet=True,
                      ge=1, le=100_000)


def counts(a: BottleneckArgs) -> dict:
    convs = {"conv1 (1×1)": a.in_channels * a.mid_channels, "conv2 (3×3)": a.mid_channels * a.mid_channels * 9,
             "conv3 (1×1)": a.mid_channels * a.out_channels}
    shortcut = a.stride != 1 or a.in_channels != a.out_channels
    if shortcut:
        convs["shortcut (1×1)"] = a.in_channels * a.out_channels
    widths = [a.mid_channels, a.mid_channels, a.out_channels] + ([a.out_channels] if shortcut else [])
    bias = sum(widths) if a.bias else 0
    bn = 2 * sum(widths) if a.batch_norm else 0
    weights = sum(convs.values())
    return {"conv_weights": weights, "conv_bias": bias, "batch_norm": bn, "parameters": weights + bias + bn,
            "per_conv": convs, "projection_shortcut": shortcut, "widths": sum(widths)}


def run(a: BottleneckArgs) -> ToolOutput:
    c = counts(a)
    ho = (a.height - 1) // a.stride + 1
    out = [1, a.out_channels, ho, ho]
    values = {k: c[k] for k in ("conv_weights", "conv_bias", "batch_norm", "parameters")} | {"output_shape": out}
    arrow = f"{a.in_channels}→{a.mid_channels}→{a.out_channels}"
    parts = " + ".join(f"{num(v)}" for v in c["per_conv"].values())
    extra_en = (f" + {num(c['conv_bias'])} conv bias" if c["conv_bias"] else "") + (f" + {num(c['batch_norm'])} BatchNorm (γ, β)" if c["batch_norm"] else "")
    extra_zh = (f" + {num(c['conv_bias'])} 个卷积偏置" if c["conv_bias"] else "") + (f" + {num(c['batch_norm'])} 个 BatchNorm 参数（γ、β）" if c["batch_norm"] else "")
    headline = {"en": f"A ResNet bottleneck block {arrow} has {num(c['parameters'])} parameters"
                      + (f" ({num(c['conv_weights'])} conv weights{extra_en})." if extra_en else " (conv weights only)."),
                "zh": f"ResNet 瓶颈块 {arrow} 的参数量为 {num(c['parameters'])}"
                      + (f"（卷积权重 {num(c['conv_weights'])}{extra_zh}）。" if extra_zh else "（只有卷积权重）。")}
    names = ", ".join(f"{k} {num(v)}" for k, v in c["per_conv"].items())
    with_bn = c["conv_weights"] + 2 * c["widths"]
    summary = {
        "en": f"Conv weights: {names} = {parts} = {num(c['conv_weights'])}. "
              + ("The input and output widths differ (or the stride is 2), so the shortcut is a 1×1 projection conv. "
                 if c["projection_shortcut"] else "The shortcut is the identity (no parameters). ")
              + f"Without BatchNorm and bias the block has {num(c['conv_weights'])} parameters; with a BatchNorm after each conv "
              f"(torchvision's Bottleneck) {num(with_bn)}. Input (1, {a.in_channels}, {a.height}, {a.height}) → output {shape(out)}.",
        "zh": f"卷积权重：{names} = {parts} = {num(c['conv_weights'])}。"
              + ("输入输出通道不同（或步长为 2），所以捷径分支是一个 1×1 投影卷积。" if c["projection_shortcut"] else "捷径分支是恒等映射（没有参数）。")
              + f"不带 BatchNorm 和偏置时为 {num(c['conv_weights'])}；每个卷积后接 BatchNorm（torchvision 的 Bottleneck）时为 "
              f"{num(with_bn)}。输入 (1, {a.in_channels}, {a.height}, {a.height}) → 输出 {shape(out)}。",
    }
    return ToolOutput(headline, summary, values, _code(a, c["projection_shortcut"]))


def _code(a: BottleneckArgs, shortcut: bool) -> str:
    norm = (lambda c: f"nn.BatchNorm2d({c}, device='meta')") if a.batch_norm else (lambda c: "nn.Identity()")
    proj = (f"nn.Sequential(nn.Conv2d({a.in_channels}, {a.out_channels}, 1, stride={a.stride}, bias={a.bias}, device='meta'), "
            f"{norm(a.out_channels)})") if shortcut else "nn.Identity()"
    return f"""import torch
from torch import nn


class Bottleneck(nn.Module):  # as in torchvision.models.resnet (expansion 4: width {a.mid_channels} -> {a.out_channels})
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d({a.in_channels}, {a.mid_channels}, 1, bias={a.bias}, device="meta")
        self.bn1 = {norm(a.mid_channels)}
        self.conv2 = nn.Conv2d({a.mid_channels}, {a.mid_channels}, 3, stride={a.stride}, padding=1, bias={a.bias}, device="meta")
        self.bn2 = {norm(a.mid_channels)}
        self.conv3 = nn.Conv2d({a.mid_channels}, {a.out_channels}, 1, bias={a.bias}, device="meta")
        self.bn3 = {norm(a.out_channels)}
        self.shortcut = {proj}

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        return torch.relu(self.bn3(self.conv3(y)) + self.shortcut(x))


block = Bottleneck().eval()
y = block(torch.empty(1, {a.in_channels}, {a.height}, {a.height}, device="meta"))  # meta: shapes only
convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
values = {{
    "conv_weights": sum(m.weight.numel() for m in convs),
    "conv_bias": sum(m.bias.numel() for m in convs if m.bias is not None),
    "batch_norm": sum(p.numel() for m in block.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()),
    "parameters": sum(p.numel() for p in block.parameters()),
    "output_shape": list(y.shape),
}}
print(values)
"""


def read(text: str) -> dict:
    found: dict = {}
    if m := re.search(r"(\d+)\s*(?:->|→|-|到|—)\s*(\d+)\s*(?:->|→|-|到|—)\s*(\d+)", text):
        found["in_channels"], found["mid_channels"], found["out_channels"] = (int(g) for g in m.groups())
    elif io := rd.in_out(text):
        found["in_channels"], found["mid_channels"] = io[0], io[1]
        found["out_channels"] = io[0]
    else:
        for key, keys in (("in_channels", r"in(?:put)?[_\s]*channels|输入通道数?"), ("mid_channels", r"width|mid\w*|中间通道数?|瓶颈通道数?"),
                          ("out_channels", r"out(?:put)?[_\s]*channels|输出通道数?")):
            if n := rd.after(text, keys, 8):
                found[key] = n.as_int()
    if re.search(r"(?:without|no|w/o)\s+(?:bn|batch\s*norm)|(?:不带|不加|没有|无|去掉)\s*(?:bn|batchnorm|批归一化)", text):
        found["batch_norm"] = False
    elif re.search(r"(?:with|including|含|带|加|包括)\s*(?:bn|batch\s*norm|批归一化)", text):
        found["batch_norm"] = True
    if (b := rd.flag(text, rd.WITH_BIAS, rd.NO_BIAS)) is not None:
        found["bias"] = b
    if n := rd.after(text, r"stride|步长", 6):
        found["stride"] = n.as_int()
    return found


TOOL = register(Tool(
    name="resnet_bottleneck",
    label=("ResNet bottleneck block parameters", "ResNet 瓶颈块参数量"),
    description="Parameters of a ResNet bottleneck block (1×1 reduce, 3×3, 1×1 expand, optional projection shortcut), "
                "with or without BatchNorm and conv bias, by formula.",
    args=BottleneckArgs,
    run=run,
    triggers=r"(?:resnet|残差).{0,30}(?:bottleneck|瓶颈)|(?:bottleneck|瓶颈)\s*(?:block|块|模块|结构)|\d+\s*(?:->|→)\s*\d+\s*(?:->|→)\s*\d+",
    hints=(r"resnet|残差", r"参数|param", r"block|块"),
    read=read,
))
