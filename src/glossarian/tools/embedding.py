"""embedding_similarity tool: an nn.Embedding lookup and the pairwise cosine similarity of vectors, as a heatmap."""
from typing import Annotated

from glossarian.tools.figures import new_figure, to_png
from glossarian.tools.registry import Limits, ToolOutput, fmt_list, r4_all, require, tool

Component = Annotated[float, Limits(ge=-1e6, le=1e6)]
Vector = Annotated[list[Component], Limits(min_items=1, max_items=1024)]
Vectors = Annotated[list[Vector], Limits(min_items=1, max_items=32)]
VocabSize = Annotated[int, Limits(ge=1, le=100_000)]
EmbeddingDim = Annotated[int, Limits(ge=1, le=1024)]
TokenId = Annotated[int, Limits(ge=0, le=99_999)]
TokenIds = Annotated[list[TokenId], Limits(min_items=1, max_items=32)]
MAX_TABLE = 10_000_000  # 40 MB of float32 weights


@tool
def embedding_similarity(
    vectors: Vectors | None = None,
    num_embeddings: VocabSize = 10,
    embedding_dim: EmbeddingDim = 4,
    token_ids: TokenIds = [1, 2, 3],
) -> ToolOutput:
    """Embedding lookup and cosine similarity: look up token_ids in a seeded nn.Embedding(num_embeddings, embedding_dim) and compute the pairwise cosine-similarity matrix of the given vectors (or, without vectors, of the looked-up rows).

    Args:
        vectors: Optional vectors to compare (1 to 32 vectors of equal length, at most 1024 numbers each); null compares the looked-up embedding rows instead.
        num_embeddings: Vocabulary size, the number of rows in the table (1 to 100000).
        embedding_dim: Length of each embedding vector (1 to 1024).
        token_ids: Token ids to look up (1 to 32 ids, each from 0 to num_embeddings - 1).
    """
    require(
        num_embeddings * embedding_dim <= MAX_TABLE,
        f"an embedding table of {num_embeddings:,} × {embedding_dim:,} has {num_embeddings * embedding_dim:,} weights; at most {MAX_TABLE:,} are allowed.",
        "Use a smaller vocabulary or dimension, e.g. num_embeddings=10, embedding_dim=4.",
    )
    bad = [i for i in token_ids if i >= num_embeddings]
    require(
        not bad,
        f"token id {bad[0] if bad else ''} is out of range for num_embeddings = {num_embeddings}: ids must be between 0 and {num_embeddings - 1}.",
        "Use ids smaller than num_embeddings, or raise num_embeddings.",
    )
    if vectors is not None:
        lengths = sorted({len(v) for v in vectors})
        require(
            len(lengths) == 1,
            f"vectors have different lengths {lengths}; cosine similarity needs vectors of one length.",
            "Give every vector the same number of components, e.g. [[1, 0], [0, 1], [1, 1]].",
        )
    import torch
    import torch.nn.functional as F
    from torch import nn

    table = nn.Embedding(num_embeddings, embedding_dim)
    rows = table(torch.tensor(token_ids))
    compared = torch.tensor(vectors) if vectors is not None else rows
    similarity = F.cosine_similarity(compared[:, None, :], compared[None, :, :], dim=-1)
    values = {
        "embedding_rows": r4_all(rows.tolist()),
        "similarity_of": "vectors" if vectors is not None else "embedding_rows",
        "similarity": r4_all(similarity.tolist()),
    }
    labels = [f"v{i}" for i in range(len(vectors))] if vectors is not None else [f"id {i}" for i in token_ids]
    return ToolOutput(
        summary=_summary(num_embeddings, embedding_dim, token_ids, labels, values),
        values=values,
        code=_code(vectors, num_embeddings, embedding_dim, token_ids),
        figure_png=_figure(values["similarity"], labels),
    )


def _summary(vocab: int, dim: int, ids: list[int], labels: list[str], v: dict) -> dict[str, str]:
    rows = "1 row" if len(ids) == 1 else f"{len(ids)} rows"
    en = f"nn.Embedding({vocab}, {dim}) maps token ids {fmt_list(ids)} to {rows} of length {dim} (a table lookup, shape {len(ids)}×{dim})."
    zh = f"nn.Embedding({vocab}, {dim}) 把 token id {fmt_list(ids)} 查表映射为 {len(ids)} 个长度为 {dim} 的向量（形状 {len(ids)}×{dim}）。"
    sim = v["similarity"]
    pairs = [(sim[i][j], i, j) for i in range(len(sim)) for j in range(i + 1, len(sim))]
    what_en = "the given vectors" if v["similarity_of"] == "vectors" else "these rows"
    what_zh = "给定向量" if v["similarity_of"] == "vectors" else "这些行向量"
    if pairs:
        top, bottom = max(pairs), min(pairs)
        en += (
            f" Cosine similarity of {what_en}: most similar {labels[top[1]]} and {labels[top[2]]} ({top[0]:.4f}), "
            f"least similar {labels[bottom[1]]} and {labels[bottom[2]]} ({bottom[0]:.4f}); 1 means the same direction, 0 orthogonal, -1 opposite."
        )
        zh += (
            f"{what_zh}的余弦相似度：最相似的是 {labels[top[1]]} 与 {labels[top[2]]}（{top[0]:.4f}），"
            f"最不相似的是 {labels[bottom[1]]} 与 {labels[bottom[2]]}（{bottom[0]:.4f}）；1 表示方向相同，0 表示正交，-1 表示相反。"
        )
    else:
        en += " With a single vector the similarity matrix is just [[1]]; give two or more to compare."
        zh += "只有一个向量时相似度矩阵就是 [[1]]；给两个以上才能比较。"
    return {"en": en, "zh": zh}


def _code(vectors: list[list[float]] | None, vocab: int, dim: int, ids: list[int]) -> str:
    compared = f"torch.tensor({vectors!r})" if vectors is not None else "rows"
    return f"""import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
table = nn.Embedding({vocab}, {dim})
with torch.no_grad():
    rows = table(torch.tensor({ids!r}))  # row i of the table for each id
    compared = {compared}
    similarity = F.cosine_similarity(compared[:, None, :], compared[None, :, :], dim=-1)
print(rows)
print(similarity)
values = {{
    "embedding_rows": rows.tolist(),
    "similarity_of": {"vectors" if vectors is not None else "embedding_rows"!r},
    "similarity": similarity.tolist(),
}}
"""


def _figure(similarity: list[list[float]], labels: list[str]) -> bytes:
    n = len(similarity)
    fig, ax = new_figure(4.8, 4.0)
    image = ax.imshow(similarity, cmap="coolwarm", vmin=-1, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = range(n) if n <= 16 else range(0, n, 4)
    ax.set_xticks(list(ticks), [labels[i] for i in ticks], rotation=45, fontsize=8)
    ax.set_yticks(list(ticks), [labels[i] for i in ticks], fontsize=8)
    if n <= 8:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{similarity[i][j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_title("cosine similarity")
    return to_png(fig)
