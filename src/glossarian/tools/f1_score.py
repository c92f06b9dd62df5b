"""f1_score calculator: precision, recall and F1 (or F-beta) from TP/FP/FN counts or from precision and recall."""
from __future__ import annotations

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, num, r4, refuse, register


class F1Args(Args):
    precision: float | None = arg(0.8, "precision", "精确率", "Precision in [0, 1]; ignored when tp/fp/fn are given.",
                                  ge=0.0, le=1.0)
    recall: float | None = arg(0.6, "recall", "召回率", "Recall in [0, 1]; ignored when tp/fp/fn are given.",
                               ge=0.0, le=1.0)
    tp: int | None = arg(None, "true positives", "真正例数", "Count of true positives (with fp and fn).", quiet=True,
                         ge=0, le=10**15)
    fp: int | None = arg(None, "false positives", "假正例数", "Count of false positives.", quiet=True, ge=0, le=10**15)
    fn: int | None = arg(None, "false negatives", "假负例数", "Count of false negatives.", quiet=True, ge=0, le=10**15)
    beta: float = arg(1.0, "beta", "β", "F-beta weight: recall counts beta times as much as precision (1 = F1).",
                      quiet=True, gt=0.0, le=100.0)


def _ratio(a: int, b: int, what_en: str, what_zh: str) -> float:
    if b == 0:
        raise refuse(f"{what_en} is undefined: its denominator is 0.", f"{what_zh}没有定义：分母为 0。",
                     "Give counts with at least one predicted and one actual positive.",
                     "请给出至少有一个预测正例和一个真实正例的计数。")
    return a / b


def run(a: F1Args) -> ToolOutput:
    counts = None not in (a.tp, a.fp, a.fn)
    if counts:
        p = _ratio(a.tp, a.tp + a.fp, "Precision", "精确率")
        r = _ratio(a.tp, a.tp + a.fn, "Recall", "召回率")
    elif a.precision is None or a.recall is None:
        raise refuse("Give precision and recall, or the TP, FP and FN counts.", "请给出精确率和召回率，或 TP、FP、FN 三个计数。",
                     "For example: precision 0.8, recall 0.6.", "例如：精确率 0.8、召回率 0.6。")
    else:
        p, r = a.precision, a.recall
    b2 = a.beta ** 2
    f = 0.0 if p == 0 and r == 0 else (1 + b2) * p * r / (b2 * p + r)
    name = "F1" if a.beta == 1 else f"F{a.beta:g}"
    values = {"precision": r4(p), "recall": r4(r), "f_score": r4(f), "beta": a.beta}
    headline = {"en": f"{name} = {f:.4f}.", "zh": f"{name} = {f:.4f}。"}
    source_en = (f"From TP = {num(a.tp)}, FP = {num(a.fp)}, FN = {num(a.fn)}: precision = TP/(TP+FP) = {p:.4f}, "
                 f"recall = TP/(TP+FN) = {r:.4f}. ") if counts else f"Precision {p:g}, recall {r:g}. "
    source_zh = (f"由 TP = {num(a.tp)}、FP = {num(a.fp)}、FN = {num(a.fn)}：精确率 = TP/(TP+FP) = {p:.4f}，"
                 f"召回率 = TP/(TP+FN) = {r:.4f}。") if counts else f"精确率 {p:g}，召回率 {r:g}。"
    formula = "2·P·R / (P + R), the harmonic mean" if a.beta == 1 else f"(1+β²)·P·R / (β²·P + R) with β = {a.beta:g}"
    formula_zh = "2·P·R / (P + R)，即调和平均" if a.beta == 1 else f"(1+β²)·P·R / (β²·P + R)，β = {a.beta:g}"
    summary = {"en": f"{source_en}{name} = {formula}; it stays low unless both are high.",
               "zh": f"{source_zh}{name} = {formula_zh}；两者都高时它才高。"}
    given = (f"tp, fp, fn = torch.tensor({a.tp}.), torch.tensor({a.fp}.), torch.tensor({a.fn}.)\n"
             "p, r = tp / (tp + fp), tp / (tp + fn)") if counts else \
        f"p, r = torch.tensor({p!r}, dtype=torch.float64), torch.tensor({r!r}, dtype=torch.float64)"
    code = f"""import torch

{given}
beta2 = {a.beta!r} ** 2
f = (1 + beta2) * p * r / (beta2 * p + r) if (p + r) > 0 else torch.tensor(0.0)
values = {{"precision": float(p), "recall": float(r), "f_score": float(f), "beta": {a.beta!r}}}
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    found: dict = {}
    for key, pattern in (("tp", r"\btp\b|true positives?|真正例|真阳性"), ("fp", r"\bfp\b|false positives?|假正例|假阳性|误检"),
                         ("fn", r"\bfn\b|false negatives?|假负例|假阴性|漏检")):
        n = rd.keyed(text, pattern)
        if n is not None and float(n.value).is_integer():
            found[key] = int(n.value)
    for key, pattern in (("precision", r"precision|精确率|查准率|精度|\bp\s*(?==)"),
                         ("recall", r"recall|召回率|查全率|\br\s*(?==)")):
        n = rd.after(text, pattern)
        if n is not None:
            value = n.value / 100 if 1 < n.value <= 100 and "%" in text[n.end:n.end + 1] else n.value
            found[key] = float(value)
    if (n := rd.after(text, r"\bbeta|β|\bf(?=\d)")) is not None and n.value > 0:
        found["beta"] = float(n.value)
    if all(k in found for k in ("tp", "fp", "fn")):
        found["_irrelevant"] = ["precision", "recall"]  # the counts decide both
    return found


TOOL = register(Tool(
    name="f1_score",
    label=("F1 / F-beta from precision and recall or TP/FP/FN", "由精确率、召回率或 TP/FP/FN 算 F1 / F-beta"),
    description="F1 (or F-beta) score, with precision and recall, from TP/FP/FN counts or from precision and recall.",
    args=F1Args,
    run=run,
    triggers=r"\bf1\b|f-?score|f-?beta|\bf[0-9.]+\s*(?:score|分数|值)|f1\s*值|f1\s*分数",
    hints=(r"precision|精确率|查准率|\btp\b", r"recall|召回率|查全率|\bfn\b"),
    read=read,
))
