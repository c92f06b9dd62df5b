"""cosine_similarity calculator: cos(a, b) = a·b / (|a||b|) of two or more vectors, as F.cosine_similarity computes it."""
from __future__ import annotations

import math

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, fmt_list, r4_all, refuse, register


class CosineArgs(Args):
    vectors: list[list[float]] = arg([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], "vectors", "向量", "Two or more vectors of one length.",
                                     min_length=2, max_length=32)


def cos(a: list[float], b: list[float]) -> float:
    eps = 1e-8  # F.cosine_similarity clamps each norm at eps
    na, nb = max(math.sqrt(sum(x * x for x in a)), eps), max(math.sqrt(sum(x * x for x in b)), eps)
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


def run(a: CosineArgs) -> ToolOutput:
    vs = [list(v) for v in a.vectors]
    if len({len(v) for v in vs}) != 1 or not vs[0]:
        raise refuse(f"The vectors have different lengths {sorted({len(v) for v in vs})}.", f"向量长度不同：{sorted({len(v) for v in vs})}。",
                     "Give every vector the same number of components.", "请让每个向量的分量个数相同。")
    matrix = [[cos(x, y) for y in vs] for x in vs]
    values = {"similarity": r4_all(matrix)}
    if len(vs) == 2:
        values["cosine"] = values["similarity"][0][1]
        headline = {"en": f"cos({fmt_list(vs[0], 'g')}, {fmt_list(vs[1], 'g')}) = {matrix[0][1]:.4f}.",
                    "zh": f"{fmt_list(vs[0], 'g')} 与 {fmt_list(vs[1], 'g')} 的余弦相似度 = {matrix[0][1]:.4f}。"}
    else:
        pairs = sorted(((matrix[i][j], i, j) for i in range(len(vs)) for j in range(i + 1, len(vs))), reverse=True)
        top = pairs[0]
        headline = {"en": f"The most similar pair is v{top[1]} and v{top[2]} ({top[0]:.4f}); the matrix is below.",
                    "zh": f"最相似的是 v{top[1]} 和 v{top[2]}（{top[0]:.4f}）；完整矩阵见下。"}
    rows = "; ".join(f"v{i}: {fmt_list(r)}" for i, r in enumerate(values["similarity"][:8]))
    summary = {"en": f"cos = a·b / (|a|·|b|): 1 means the same direction, 0 orthogonal, −1 opposite. Matrix rows — {rows}.",
               "zh": f"cos = a·b / (|a|·|b|)：1 表示方向相同，0 表示正交，−1 表示相反。矩阵各行——{rows}。"}
    code = f"""import torch
import torch.nn.functional as F

v = torch.tensor({vs!r}, dtype=torch.float64)
similarity = F.cosine_similarity(v[:, None, :], v[None, :, :], dim=-1)
values = {{"similarity": similarity.tolist()}}
{'values["cosine"] = similarity[0, 1].item()' if len(vs) == 2 else ''}
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    nested = rd.nested_lists(text)
    if nested:
        return {"vectors": nested[0]}
    lists = [v for v, _, _ in rd.bracketed_lists(text)]
    return {"vectors": lists} if len(lists) >= 2 else {}


TOOL = register(Tool(
    name="cosine_similarity",
    label=("cosine similarity", "余弦相似度"),
    description="Cosine similarity of two or more vectors (the pairwise matrix), as F.cosine_similarity computes it.",
    args=CosineArgs,
    run=run,
    triggers=r"cosine\s+similarit|cos\s*sim|余弦相似|cosine\s+of\s+the\s+angle|\bcos\s*\(",
    hints=(r"vectors?|向量", r"embedding|嵌入"),
    read=read,
    aliases=("embedding_similarity",),
))
