"""backbone_neck_head calculator: a tiny conv backbone + 1x1 neck + GAP/linear head, with parameter counts frozen and unfrozen."""
import re

from glossarian.tools import reading as rd
from glossarian.tools.figures import new_figure, to_png
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, fmt_list, num, register

PARTS = ("backbone", "neck", "head")


class BackboneArgs(Args):
    num_classes: int = arg(10, "number of classes", "类别数", "Output classes of the head.", ge=1, le=10_000)
    freeze_backbone: bool = arg(True, "backbone frozen", "冻结 backbone", "Which setting to highlight; both are reported.")


def _model(num_classes: int):
    from collections import OrderedDict

    from torch import nn

    return nn.Sequential(OrderedDict(
        backbone=nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        ),
        neck=nn.Sequential(nn.Conv2d(32, 64, kernel_size=1), nn.ReLU()),
        head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes)),
    )).eval()


def run(a: BackboneArgs) -> ToolOutput:
    import torch

    with torch.device("meta"):  # meta: counts and shapes without memory and without the global RNG
        model = _model(a.num_classes)

    def trainable() -> int:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    trainable_unfrozen = trainable()
    model.backbone.requires_grad_(False)
    trainable_frozen = trainable()
    shapes = {"input": [1, 3, 32, 32]}
    x = torch.empty(*shapes["input"], device="meta")
    for name in PARTS:
        x = getattr(model, name)(x)
        shapes[name] = list(x.shape)
    values = {
        "parameters": {name: sum(p.numel() for p in getattr(model, name).parameters()) for name in PARTS},
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "trainable_frozen": trainable_frozen,
        "trainable_unfrozen": trainable_unfrozen,
        "shapes": shapes,
        "output_shape": shapes["head"],
    }
    trainable_now = values["trainable_frozen" if a.freeze_backbone else "trainable_unfrozen"]
    headline = {"en": f"{num(trainable_now)} of {num(values['total_parameters'])} parameters are trainable "
                      f"{'with the backbone frozen' if a.freeze_backbone else 'when the backbone is fine-tuned too'}.",
                "zh": f"{'冻结 backbone 时' if a.freeze_backbone else '不冻结 backbone（全量微调）时'}，"
                      f"{num(values['total_parameters'])} 个参数中有 {num(trainable_now)} 个可训练。"}
    return ToolOutput(headline, _summary(values, a.freeze_backbone), values, _code(a.num_classes),
                      _figure(values, a.freeze_backbone))


def _summary(v: dict, frozen: bool) -> dict[str, str]:
    p, total = v["parameters"], v["total_parameters"]
    frozen_en = f"{v['trainable_frozen']:,} of {total:,} parameters are trainable (neck {p['neck']:,} + head {p['head']:,}; backbone {p['backbone']:,} frozen)"
    frozen_zh = f"{total:,} 个参数中只有 {v['trainable_frozen']:,} 个可训练（neck {p['neck']:,} + head {p['head']:,}；backbone 的 {p['backbone']:,} 个被冻结）"
    if frozen:
        en = f"With the backbone frozen, {frozen_en}; unfrozen, all {v['trainable_unfrozen']:,} would train."
        zh = f"冻结 backbone 时，{frozen_zh}；不冻结时全部 {v['trainable_unfrozen']:,} 个都参与训练。"
    else:
        en = f"With the backbone unfrozen (full fine-tuning), all {v['trainable_unfrozen']:,} parameters train; frozen, only {v['trainable_frozen']:,} would (neck + head)."
        zh = f"不冻结 backbone（全量微调）时，全部 {v['trainable_unfrozen']:,} 个参数都参与训练；冻结时只有 {v['trainable_frozen']:,} 个（neck + head）。"
    s = v["shapes"]
    trace = " → ".join(fmt_list(s[k]) for k in ("input", *PARTS))
    en += f" A 1×3×32×32 image flows input → backbone → neck → head as {trace}."
    zh += f"1×3×32×32 的输入依次经过 backbone、neck、head，形状为 {trace}。"
    return {"en": en, "zh": zh}


def _code(num_classes: int) -> str:
    return f"""from collections import OrderedDict

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(OrderedDict(
    backbone=nn.Sequential(  # features: 3 -> 32 channels, 32x32 -> 16x16
        nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
    ),
    neck=nn.Sequential(nn.Conv2d(32, 64, kernel_size=1), nn.ReLU()),  # mixes/reshapes features for the head
    head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, {num_classes})),
)).eval()

def trainable():
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

trainable_unfrozen = trainable()
model.backbone.requires_grad_(False)  # freeze: the optimizer then only updates neck and head
trainable_frozen = trainable()

shapes = {{"input": [1, 3, 32, 32]}}
x = torch.randn(1, 3, 32, 32)
with torch.no_grad():
    for name in ("backbone", "neck", "head"):
        x = getattr(model, name)(x)
        shapes[name] = list(x.shape)
print(trainable_frozen, "trainable frozen /", trainable_unfrozen, "unfrozen;", shapes)
values = {{
    "parameters": {{name: sum(p.numel() for p in getattr(model, name).parameters()) for name in ("backbone", "neck", "head")}},
    "total_parameters": sum(p.numel() for p in model.parameters()),
    "trainable_frozen": trainable_frozen,
    "trainable_unfrozen": trainable_unfrozen,
    "shapes": shapes,
    "output_shape": shapes["head"],
}}
"""


def _figure(v: dict, frozen: bool) -> bytes:
    fig, ax = new_figure(7.0, 2.8)
    settings = [("backbone frozen", True), ("backbone unfrozen", False)]
    colors = {"backbone": "tab:blue", "neck": "tab:orange", "head": "tab:green"}
    for row, (label, is_frozen) in enumerate(settings):
        left = 0
        for part in PARTS:
            count = v["parameters"][part]
            locked = is_frozen and part == "backbone"
            ax.barh(row, count, left=left, color="lightgrey" if locked else colors[part], hatch="//" if locked else None,
                    edgecolor="black", linewidth=2 if is_frozen == frozen else 0.5, label=part if row == 1 else None)
            left += count
    ax.set_yticks([0, 1], [label for label, _ in settings])
    ax.set_xlabel("parameters (grey = frozen)")
    ax.set_title("parameters by part (selected setting outlined)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return to_png(fig)


def read(text: str) -> dict:
    found: dict = {}
    if n := (rd.after(text, r"num_classes|classes|类别数量?|类别|分类数", 8) or rd.before(text, r"classes|-?class\b|类别?|分类|categories", 3)):
        found["num_classes"] = n.as_int()
    if re.search(r"unfreez|unfrozen|not\s+(?:be\s+)?frozen|don'?t\s+freeze|do\s+not\s+freeze|without\s+freezing|解冻|不冻结|不冻|全量微调|full(?:y)?\s+fine-?tun", text):
        found["freeze_backbone"] = False
    elif re.search(r"freez|frozen|冻结|冻住|固定\s*(?:backbone|骨干|主干)", text):
        found["freeze_backbone"] = True
    return found


TOOL = register(Tool(
    name="backbone_neck_head",
    label=("trainable parameters with a frozen backbone (demo model)", "冻结 backbone 后的可训练参数（示例模型）"),
    description="A tiny CNN (conv backbone, 1x1-conv neck, GAP + linear head): total and trainable parameters with the "
                "backbone frozen and unfrozen, and the shapes of a 1x3x32x32 input through it.",
    args=BackboneArgs,
    run=run,
    triggers=r"backbone|骨干|主干网络|\bneck\b|颈部|检测头|分类头|冻结|freez|frozen|解冻",
    hints=(r"\bhead\b|头", r"参数量|参数|param", r"微调|fine-?tun"),
    read=read,
))
