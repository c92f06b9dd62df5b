"""global_average_pooling tool: nn.AdaptiveAvgPool2d(1) on a seeded tensor, with shapes and a hand-checkable example."""
import math
from typing import Annotated

from glossarian.tools.figures import new_panels, to_png
from glossarian.tools.registry import Limits, ToolOutput, fmt_list, r4_all, require, tool

Dim = Annotated[int, Limits(ge=1, le=1_000_000)]
Shape = Annotated[list[Dim], Limits(min_items=3, max_items=4)]
MAX_ELEMENTS = 1_000_000
PREVIEW = 8  # channel means listed in values; the shapes tell the rest


@tool
def global_average_pooling(shape: Shape = [2, 64, 7, 7]) -> ToolOutput:
    """Global average pooling: run nn.AdaptiveAvgPool2d(1) on a random feature map of the given shape and report the output shape (N, C, 1, 1), the flattened (N, C), and a small example to check by hand.

    Args:
        shape: The feature-map shape, [N, C, H, W] or [C, H, W]; each dimension at least 1 and at most 1,000,000 elements in total.
    """
    elements = math.prod(shape)
    require(
        elements <= MAX_ELEMENTS,
        f"shape {shape} has {elements:,} elements; at most {MAX_ELEMENTS:,} are allowed.",
        "Use a smaller shape, e.g. [2, 64, 7, 7] (6,272 elements).",
    )
    import torch
    from torch import nn

    x = torch.randn(*shape)
    gap = nn.AdaptiveAvgPool2d(1)
    y = gap(x)
    flat = y.flatten(-3)  # (N, C, 1, 1) -> (N, C); (C, 1, 1) -> (C,)
    first = flat[0] if flat.dim() == 2 else flat
    example = torch.arange(8.0).reshape(1, 2, 2, 2)
    values = {
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
        "flattened_shape": list(flat.shape),
        "parameters": sum(p.numel() for p in gap.parameters()),
        "channel_means_preview": r4_all(first[:PREVIEW].tolist()),
        "example_input": example.tolist(),
        "example_means": gap(example).flatten(1).tolist(),
    }
    sample = (x[0] if x.dim() == 4 else x)[:4]
    stride = max(1, math.ceil(max(sample.shape[-2:]) / 64))  # a 1000x1000 map is drawn from every 16th pixel
    return ToolOutput(
        summary=_summary(values),
        values=values,
        code=_code(shape),
        figure_png=_figure(sample[:, ::stride, ::stride].tolist(), first[:4].tolist()),
    )


def _summary(v: dict) -> dict[str, str]:
    ins, outs, flat = (fmt_list(v[k]) for k in ("input_shape", "output_shape", "flattened_shape"))
    means = fmt_list(v["example_means"][0])
    en = (
        f"nn.AdaptiveAvgPool2d(1) turns a {ins} tensor into {outs}, which flattens to {flat}; it has no parameters. "
        f"By hand: channel 0 of a 1×2×2×2 arange input is [[0, 1], [2, 3]] with mean 1.5 and channel 1 is [[4, 5], [6, 7]] "
        f"with mean 5.5, so the output is {means}."
    )
    zh = (
        f"nn.AdaptiveAvgPool2d(1) 把形状 {ins} 的张量变成 {outs}，展平后为 {flat}；它没有可学习参数。"
        f"手算验证：1×2×2×2 的 arange 输入中，通道 0 为 [[0, 1], [2, 3]]，均值 1.5；通道 1 为 [[4, 5], [6, 7]]，均值 5.5，"
        f"所以输出为 {means}。"
    )
    return {"en": en, "zh": zh}


def _code(shape: list[int]) -> str:
    return f"""import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn({", ".join(map(str, shape))})
gap = nn.AdaptiveAvgPool2d(1)
y = gap(x)
flat = y.flatten(-3)  # same as torch.flatten(y, 1) for a 4-D input
first = flat[0] if flat.dim() == 2 else flat
print(tuple(x.shape), "->", tuple(y.shape), "->", tuple(flat.shape))
print(torch.allclose(first, x[0].mean(dim=(-2, -1)) if x.dim() == 4 else x.mean(dim=(-2, -1))))  # GAP is a plain mean

example = torch.arange(8.0).reshape(1, 2, 2, 2)  # two 2x2 channels: [[0,1],[2,3]] and [[4,5],[6,7]]
print(gap(example).flatten(1))  # tensor([[1.5000, 5.5000]])
values = {{
    "input_shape": list(x.shape),
    "output_shape": list(y.shape),
    "flattened_shape": list(flat.shape),
    "parameters": sum(p.numel() for p in gap.parameters()),
    "channel_means_preview": first[:{PREVIEW}].tolist(),
    "example_input": example.tolist(),
    "example_means": gap(example).flatten(1).tolist(),
}}
"""


def _figure(channels: list, means: list[float]) -> bytes:
    fig, axes = new_panels(len(channels), width=2.2 * len(channels) + 0.6, height=2.6)
    for c, (ax, plane, mean) in enumerate(zip(axes, channels, means)):
        ax.imshow(plane, cmap="viridis")
        ax.set_title(f"channel {c}\nmean = {mean:.4f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("GAP: each channel -> its mean", fontsize=10)
    return to_png(fig)
