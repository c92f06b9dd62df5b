"""softmax_temperature tool: softmax(logits / T) for several temperatures, as a table and a grouped bar chart."""
from typing import Annotated

from glossarian.tools.figures import new_figure, to_png
from glossarian.tools.registry import Limits, ToolOutput, fmt_list, r4, r4_all, tool

# Shared with cross_entropy.py. T >= 0.01 keeps logits / T finite in float32 for |logit| <= 1e4.
Logit = Annotated[float, Limits(ge=-10_000, le=10_000)]
Logits = Annotated[list[Logit], Limits(min_items=1, max_items=64)]
Temperature = Annotated[float, Limits(ge=0.01, le=100)]
Temperatures = Annotated[list[Temperature], Limits(min_items=1, max_items=16)]

SHOWN = 4  # temperatures spelled out in the summary; the table has all of them


@tool
def softmax_temperature(
    logits: Logits = [1.0, 2.0, 3.0],
    temperatures: Temperatures = [1.0, 2.0, 0.5],
) -> ToolOutput:
    """Softmax with temperature: compute softmax(logits / T) for each temperature T and show how a higher T flattens the distribution and a lower T sharpens it.

    Args:
        logits: The raw scores (1 to 64 numbers, each between -10000 and 10000).
        temperatures: The temperatures to compare (1 to 16 values, each between 0.01 and 100).
    """
    import torch

    z = torch.tensor(logits)
    rows = []
    for t in temperatures:
        p = torch.softmax(z / t, dim=-1)
        rows.append({"temperature": t, "probabilities": p.tolist(), "entropy": torch.special.entr(p).sum().item()})

    values = {"rows": [{"temperature": r["temperature"], "probabilities": r4_all(r["probabilities"]), "entropy": r4(r["entropy"])} for r in rows]}
    return ToolOutput(
        summary=_summary(logits, values["rows"]),
        values=values,
        code=_code(logits, temperatures),
        figure_png=_figure(values["rows"]),
    )


def _summary(logits: list[float], rows: list[dict]) -> dict[str, str]:
    many = len(logits) > 8  # long distributions: report only the top probability
    listed_en = "; ".join(
        f"T={r['temperature']:g} → " + (f"max {max(r['probabilities']):.4f}" if many else fmt_list(r["probabilities"], ".4f"))
        for r in rows[:SHOWN]
    )
    listed_zh = "；".join(
        f"T={r['temperature']:g} 时为 " + (f"最大 {max(r['probabilities']):.4f}" if many else fmt_list(r["probabilities"], ".4f"))
        for r in rows[:SHOWN]
    )
    more_en = f" (and {len(rows) - SHOWN} more in the table)" if len(rows) > SHOWN else ""
    more_zh = f"（另有 {len(rows) - SHOWN} 个温度见表）" if len(rows) > SHOWN else ""
    en = f"softmax(logits / T) for logits {fmt_list(logits)}: {listed_en}{more_en}."
    zh = f"logits {fmt_list(logits)} 除以温度 T 后做 softmax：{listed_zh}{more_zh}。"
    hot = max(rows, key=lambda r: r["temperature"])
    cold = min(rows, key=lambda r: r["temperature"])
    if len(set(logits)) == 1:
        en += " All logits are equal, so every temperature gives the same uniform distribution."
        zh += "所有 logits 相等，任何温度下都是均匀分布。"
    elif hot["temperature"] == cold["temperature"]:
        en += " Pass several temperatures to see that a higher T flattens the distribution and a lower T sharpens it."
        zh += "给出多个温度即可看到：温度越高分布越平坦，越低越尖锐。"
    else:
        top_hot, top_cold = max(hot["probabilities"]), max(cold["probabilities"])
        en += (
            f" Higher T flattens the distribution and lower T sharpens it: the largest probability is "
            f"{top_hot:.4f} at T={hot['temperature']:g} but {top_cold:.4f} at T={cold['temperature']:g}."
        )
        zh += (
            f"温度越高分布越平坦、越低越尖锐：最大概率在 T={hot['temperature']:g} 时为 {top_hot:.4f}，"
            f"在 T={cold['temperature']:g} 时为 {top_cold:.4f}。"
        )
    return {"en": en, "zh": zh}


def _code(logits: list[float], temperatures: list[float]) -> str:
    return f"""import torch

logits = torch.tensor({logits!r})
rows = []
for t in {temperatures!r}:
    p = torch.softmax(logits / t, dim=-1)
    entropy = torch.special.entr(p).sum().item()  # in nats; larger = flatter
    rows.append({{"temperature": t, "probabilities": p.tolist(), "entropy": entropy}})
    print(f"T={{t:g}}: {{[round(x, 4) for x in p.tolist()]}}  entropy={{entropy:.4f}}")
values = {{"rows": rows}}
"""


def _figure(rows: list[dict]) -> bytes:
    fig, ax = new_figure(6.4, 3.6)
    classes = len(rows[0]["probabilities"])
    width = 0.8 / len(rows)
    for i, r in enumerate(rows):
        xs = [c - 0.4 + width * (i + 0.5) for c in range(classes)]
        ax.bar(xs, r["probabilities"], width=width, label=f"T={r['temperature']:g}")
    ax.set_xticks(range(classes) if classes <= 16 else range(0, classes, max(1, classes // 16)))
    ax.set_xlabel("class")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.set_title("softmax(logits / T)")
    ax.legend(fontsize=8)
    return to_png(fig)
