"""iou calculator: intersection over union of two boxes (xyxy, xywh or cxcywh), as torchvision.ops.box_iou computes it (torch only)."""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, num, r4, refuse, register


class IoUArgs(Args):
    box_a: list[float] = arg([0.0, 0.0, 2.0, 2.0], "first box", "第一个框", "Four numbers in the given format.", min_length=4, max_length=4)
    box_b: list[float] = arg([1.0, 1.0, 3.0, 3.0], "second box", "第二个框", "Four numbers in the given format.", min_length=4, max_length=4)
    box_format: Literal["xyxy", "xywh", "cxcywh"] = arg("xyxy", "box format", "框的格式", "xyxy = (x1, y1, x2, y2) corners; "
                                                        "xywh = top-left corner + size; cxcywh = centre + size.")


def to_xyxy(box: list[float], fmt: str) -> list[float]:
    if fmt == "xywh":
        x, y, w, h = box
        return [x, y, x + w, y + h]
    if fmt == "cxcywh":
        cx, cy, w, h = box
        return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    return list(box)


def run(a: IoUArgs) -> ToolOutput:
    boxes = [to_xyxy(list(b), a.box_format) for b in (a.box_a, a.box_b)]
    for b in boxes:
        if b[2] < b[0] or b[3] < b[1]:
            raise refuse(f"The box {list(b)} has x2 < x1 or y2 < y1 in {a.box_format} format.",
                         f"框 {list(b)} 在 {a.box_format} 格式下 x2 < x1 或 y2 < y1。",
                         "Give corners as (x1, y1, x2, y2) with x2 ≥ x1, or say the format (xywh).",
                         "请按 (x1, y1, x2, y2) 给出角点，或说明格式（如 xywh）。")
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = boxes
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    if union <= 0:
        raise refuse("Both boxes have zero area, so IoU is undefined.", "两个框面积都为 0，IoU 没有定义。",
                     "Give boxes with a positive area.", "请给面积大于 0 的框。")
    value = inter / union
    frac = Fraction(value).limit_denominator(1000)
    exact = f"{frac.numerator}/{frac.denominator} ≈ " if frac.denominator > 1 and abs(float(frac) - value) < 1e-12 else ""
    values = {"iou": r4(value), "intersection": r4(inter), "union": r4(union)}
    headline = {"en": f"IoU = {exact}{value:.4f}.", "zh": f"IoU = {exact}{value:.4f}。"}
    summary = {"en": f"Intersection area {num(inter)}, union area {num(union)} (the two areas minus the overlap), "
                     f"IoU = {num(inter)} / {num(union)}; boxes read as {a.box_format}.",
               "zh": f"交集面积 {num(inter)}，并集面积 {num(union)}（两个面积之和减去重叠部分），IoU = {num(inter)} / {num(union)}；"
                     f"框按 {a.box_format} 格式读取。"}
    to_xyxy_code = {"xyxy": "box", "xywh": "torch.cat([box[:, :2], box[:, :2] + box[:, 2:]], dim=1)",
                    "cxcywh": "torch.cat([box[:, :2] - box[:, 2:] / 2, box[:, :2] + box[:, 2:] / 2], dim=1)"}[a.box_format]
    code = f"""import torch


def to_xyxy(box):  # {a.box_format} -> (x1, y1, x2, y2); torchvision.ops.box_convert does the same
    return {to_xyxy_code}


a = to_xyxy(torch.tensor([{list(a.box_a)!r}], dtype=torch.float64))
b = to_xyxy(torch.tensor([{list(a.box_b)!r}], dtype=torch.float64))
lt, rb = torch.max(a[:, :2], b[:, :2]), torch.min(a[:, 2:], b[:, 2:])
inter = (rb - lt).clamp(min=0).prod(-1).item()
area = lambda box: ((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])).item()
union = area(a) + area(b) - inter
values = {{"iou": inter / union, "intersection": inter, "union": union}}  # = torchvision.ops.box_iou(a, b)
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    found: dict = {}
    boxes = [v for v in rd.number_lists(text) if len(v) == 4]
    if len(boxes) >= 2:
        found["box_a"], found["box_b"] = boxes[0], boxes[1]
    if m := re.search(r"cxcywh|center|centre|中心", text):
        found["box_format"] = "cxcywh"
    elif re.search(r"xywh|width\s+and\s+height|宽高|\bw\s*,\s*h\b", text):
        found["box_format"] = "xywh"
    elif re.search(r"xyxy|x1\s*,\s*y1\s*,\s*x2|corners?|角点|左上.{0,6}右下", text):
        found["box_format"] = "xyxy"
    return found


TOOL = register(Tool(
    name="iou",
    label=("IoU of two boxes", "两个框的 IoU"),
    description="Intersection over union of two boxes given as xyxy (default), xywh or cxcywh.",
    args=IoUArgs,
    run=run,
    triggers=r"\biou\b|intersection\s+over\s+union|交并比|jaccard",
    hints=(r"box|框", r"overlap|重叠"),
    read=read,
))
