"""linear calculator: output shape and parameter count of nn.Linear, by formula (no tensor is allocated)."""
from __future__ import annotations

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Dim, Tool, ToolOutput, arg, num, register, shape


class LinearArgs(Args):
    in_features: int = arg(1024, "input features", "输入维度", "Input features.", ge=1, le=10_000_000)
    out_features: int = arg(256, "output features", "输出维度", "Output features.", ge=1, le=10_000_000)
    bias: bool = arg(True, "bias", "偏置", "Whether the layer has a bias (PyTorch's default: true).")
    leading_shape: list[Dim] = arg([1], "leading input dimensions", "输入的前置维度", "The input's dimensions before the "
                                   "last one, e.g. [32, 128] for (batch, sequence).", quiet=True, min_length=0, max_length=6)


def run(a: LinearArgs) -> ToolOutput:
    weights = a.in_features * a.out_features
    params = weights + (a.out_features if a.bias else 0)
    lead = [max(1, d) for d in a.leading_shape]
    inp, out = lead + [a.in_features], lead + [a.out_features]
    values = {"parameters": params, "weight_parameters": weights, "weight_shape": [a.out_features, a.in_features],
              "bias_parameters": a.out_features if a.bias else 0, "input_shape": inp, "output_shape": out}
    layer = f"nn.Linear({a.in_features}, {a.out_features}{'' if a.bias else ', bias=False'})"
    formula = f"{a.in_features} × {a.out_features}" + (f" + {a.out_features}" if a.bias else "")
    headline = {"en": f"{layer} has {num(params)} parameters ({formula}); it maps {shape(inp)} → {shape(out)}.",
                "zh": f"{layer} 的参数量为 {num(params)}（{formula}），把 {shape(inp)} 映射为 {shape(out)}。"}
    ratio = a.in_features / a.out_features
    summary = {
        "en": f"The weight matrix is {a.out_features} × {a.in_features}{' plus one bias per output' if a.bias else ''}; "
              f"only the last dimension changes, every leading dimension passes through. "
              f"{'Compression' if ratio >= 1 else 'Expansion'} {max(ratio, 1 / ratio):.4g}×; "
              f"{num(params * 4 / 2**20) if params * 4 >= 2**20 else num(params * 4 / 1024)} "
              f"{'MiB' if params * 4 >= 2**20 else 'KiB'} of float32 weights.",
        "zh": f"权重矩阵为 {a.out_features} × {a.in_features}{'，每个输出再加一个偏置' if a.bias else ''}；只改变最后一维，前面的维度原样保留。"
              f"{'压缩' if ratio >= 1 else '扩展'} {max(ratio, 1 / ratio):.4g} 倍；float32 权重约 "
              f"{num(params * 4 / 2**20) + ' MiB' if params * 4 >= 2**20 else num(params * 4 / 1024) + ' KiB'}。",
    }
    return ToolOutput(headline, summary, values, _code(a, lead))


def _code(a: LinearArgs, lead: list[int]) -> str:
    return f"""import torch
from torch import nn

layer = nn.Linear({a.in_features}, {a.out_features}, bias={a.bias}, device="meta")  # meta: shapes only, no memory
x = torch.empty({", ".join(map(str, lead + [a.in_features]))}, device="meta")
y = layer(x)
values = {{
    "parameters": sum(p.numel() for p in layer.parameters()),
    "weight_parameters": layer.weight.numel(),
    "weight_shape": list(layer.weight.shape),
    "bias_parameters": layer.bias.numel() if layer.bias is not None else 0,
    "input_shape": list(x.shape),
    "output_shape": list(y.shape),
}}
print(values)
"""


def read(text: str) -> dict:
    found: dict = {}
    written = rd.call_args(text, "linear")
    if written:
        pos, kw, span = written
        for key, value in zip(("in_features", "out_features"), pos):
            found[key] = value
        for key in ("in_features", "out_features"):
            if isinstance(kw.get(key), (int, float)):
                found[key] = kw[key]
        if kw.get("bias") == "false":
            found["bias"] = False
        text = rd.blank(text, *span)
    elif io := rd.in_out(text):
        found["in_features"], found["out_features"] = io[0], io[1]
        text = rd.blank(text, *io[2])
    for key, keys in (("in_features", r"in_features|输入维度|input\s+(?:dim\w*|features|size)"),
                      ("out_features", r"out_features|输出维度|output\s+(?:dim\w*|features|size)")):
        if key not in found and (n := rd.after(text, keys, 8)):
            found[key] = n.as_int()
    if (b := rd.flag(text, rd.WITH_BIAS, rd.NO_BIAS)) is not None:
        found["bias"] = b
    for dims in rd.shapes(text, min_dims=2):
        if "in_features" in found and dims[-1] == found["in_features"]:
            found["leading_shape"] = dims[:-1]
            break
    else:
        lead = [n.as_int() for n in (rd.after(text, rd.BATCH, 8), rd.keyed(text, r"seq(?:uence)?(?:[\s_]*len(?:gth)?)?|序列长度|tokens?|个\s*token", 8)) if n]
        if lead and all(isinstance(d, int) for d in lead):
            found["leading_shape"] = lead
    return found


TOOL = register(Tool(
    name="linear",
    label=("linear-layer parameters and shapes", "全连接层的参数量与形状"),
    description="Parameter count and output shape of nn.Linear(in_features, out_features), by formula.",
    args=LinearArgs,
    run=run,
    triggers=r"nn\.linear|\blinear\s+(?:layer|projection)|\blinear\b(?!\s+(?:warm|decay|schedul))|全连接|\bfc\b|dense\s+layer|线性层|\bmlp\b",
    hints=(r"参数|param", r"形状|shape|输出|output", r"dim|维|features?|特征"),
    read=read,
))
