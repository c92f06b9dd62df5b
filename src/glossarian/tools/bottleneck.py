"""bottleneck_projection tool: nn.Linear or a 1x1 nn.Conv2d from in_dim to out_dim, with parameter count and shapes."""
from typing import Annotated, Literal

from glossarian.tools.registry import Limits, ToolOutput, fmt_list, r4, require, tool

Width = Annotated[int, Limits(ge=1, le=65_536)]
Spatial = Annotated[int, Limits(ge=1, le=512)]
MAX_WEIGHTS = 16_777_216  # 64 MB of float32 weights
MAX_ACTIVATION = 1_000_000


@tool
def bottleneck_projection(
    in_dim: Width = 1024,
    out_dim: Width = 256,
    kind: Literal["linear", "conv1x1"] = "linear",
    bias: bool = True,
    spatial: Spatial = 7,
) -> ToolOutput:
    """Bottleneck projection: build nn.Linear(in_dim, out_dim) or a 1x1 nn.Conv2d and report its parameter count (in*out + out with bias), output shape and compression ratio.

    Args:
        in_dim: Input features or channels (1 to 65536).
        out_dim: Output features or channels (1 to 65536).
        kind: "linear" for nn.Linear on a (1, in_dim) vector, "conv1x1" for nn.Conv2d(kernel_size=1) on a feature map.
        bias: Whether the layer has a bias (adds out_dim parameters).
        spatial: Height and width of the conv1x1 input feature map (1 to 512); ignored for linear.
    """
    require(
        in_dim * out_dim <= MAX_WEIGHTS,
        f"in_dim × out_dim = {in_dim:,} × {out_dim:,} = {in_dim * out_dim:,} weights; at most {MAX_WEIGHTS:,} are allowed.",
        "Use smaller dimensions, e.g. in_dim=1024, out_dim=256.",
    )
    if kind == "conv1x1":
        biggest = max(in_dim, out_dim) * spatial * spatial
        require(
            biggest <= MAX_ACTIVATION,
            f"a {max(in_dim, out_dim):,}×{spatial}×{spatial} feature map has {biggest:,} elements; at most {MAX_ACTIVATION:,} are allowed.",
            "Use a smaller spatial size (e.g. 7) or fewer channels.",
        )
    import torch
    from torch import nn

    if kind == "linear":
        layer = nn.Linear(in_dim, out_dim, bias=bias)
        x = torch.randn(1, in_dim)
    else:
        layer = nn.Conv2d(in_dim, out_dim, kernel_size=1, bias=bias)
        x = torch.randn(1, in_dim, spatial, spatial)
    y = layer(x)
    values = {
        "weight_shape": list(layer.weight.shape),
        "weight_parameters": layer.weight.numel(),
        "bias_parameters": layer.bias.numel() if bias else 0,
        "parameters": sum(p.numel() for p in layer.parameters()),
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
        "compression_ratio": r4(in_dim / out_dim),
    }
    return ToolOutput(summary=_summary(in_dim, out_dim, kind, bias, values), values=values, code=_code(in_dim, out_dim, kind, bias, spatial))


def _summary(in_dim: int, out_dim: int, kind: str, bias: bool, v: dict) -> dict[str, str]:
    layer = f"nn.Linear({in_dim}, {out_dim})" if kind == "linear" else f"nn.Conv2d({in_dim}, {out_dim}, kernel_size=1)"
    formula = f"{in_dim:,} × {out_dim:,}" + (f" + {out_dim:,}" if bias else "")
    ratio = v["compression_ratio"]
    shapes = f"{fmt_list(v['input_shape'])} → {fmt_list(v['output_shape'])}"
    if ratio >= 1:
        squeeze_en, squeeze_zh = f"compressing {ratio:g}× ({in_dim}/{out_dim})", f"压缩比 {ratio:g}（{in_dim}/{out_dim}）"
    else:
        squeeze_en, squeeze_zh = f"expanding {1 / ratio:.4g}× (ratio {in_dim}/{out_dim} = {ratio:g})", f"这是升维 {1 / ratio:.4g} 倍（{in_dim}/{out_dim} = {ratio:g}）"
    bias_en = "with bias" if bias else "without bias"
    bias_zh = "带偏置" if bias else "不带偏置"
    en = f"{layer} {bias_en} has {formula} = {v['parameters']:,} parameters and maps {shapes}, {squeeze_en}."
    zh = f"{layer}（{bias_zh}）的参数量为 {formula} = {v['parameters']:,}，形状 {shapes}，{squeeze_zh}。"
    if kind == "conv1x1":
        en += " A 1×1 convolution is the same linear map applied at every pixel, so it has exactly the parameters of the matching nn.Linear."
        zh += "1×1 卷积就是在每个像素位置上做同一个线性映射，参数量与对应的 nn.Linear 完全相同。"
    return {"en": en, "zh": zh}


def _code(in_dim: int, out_dim: int, kind: str, bias: bool, spatial: int) -> str:
    if kind == "linear":
        build = f"layer = nn.Linear({in_dim}, {out_dim}, bias={bias})\nx = torch.randn(1, {in_dim})"
    else:
        build = f"layer = nn.Conv2d({in_dim}, {out_dim}, kernel_size=1, bias={bias})\nx = torch.randn(1, {in_dim}, {spatial}, {spatial})"
    return f"""import torch
from torch import nn

torch.manual_seed(0)
{build}
y = layer(x)
parameters = sum(p.numel() for p in layer.parameters())
print(f"{{parameters:,}} parameters;", tuple(x.shape), "->", tuple(y.shape))
values = {{
    "weight_shape": list(layer.weight.shape),
    "weight_parameters": layer.weight.numel(),
    "bias_parameters": layer.bias.numel() if layer.bias is not None else 0,
    "parameters": parameters,
    "input_shape": list(x.shape),
    "output_shape": list(y.shape),
    "compression_ratio": {in_dim} / {out_dim},
}}
"""
