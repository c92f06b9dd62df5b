"""embedding calculator: nn.Embedding table size and lookup output shape, by formula (no table is allocated)."""
from __future__ import annotations

import math
import re
from typing import Literal

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Dim, Tool, ToolOutput, arg, num, register, shape


class EmbeddingArgs(Args):
    num_embeddings: int = arg(10000, "vocabulary size", "词表大小", "Rows of the table (vocabulary size).", ge=1, le=10**9)
    embedding_dim: int = arg(256, "embedding dimension", "向量维度", "Length of each embedding vector.", ge=1, le=10**6)
    input_shape: list[Dim] = arg([4, 32], "shape of the token ids", "输入 id 的形状", "Shape of the LongTensor of token ids, "
                                 "e.g. [batch, sequence].", min_length=1, max_length=6)
    lead: Literal["output_shape", "parameters"] = arg("output_shape", "what the answer opens with", "答案先给哪一项",
                                                      "output_shape for a lookup, parameters for the table size.", quiet=True)


def run(a: EmbeddingArgs) -> ToolOutput:
    params = a.num_embeddings * a.embedding_dim
    out = list(a.input_shape) + [a.embedding_dim]
    mib = params * 4 / 2**20
    values = {"parameters": params, "weight_shape": [a.num_embeddings, a.embedding_dim], "input_shape": list(a.input_shape),
              "output_shape": out, "lookups": math.prod(a.input_shape), "float32_mib": round(mib, 2)}
    layer = f"nn.Embedding({a.num_embeddings}, {a.embedding_dim})"
    headline = {"en": f"Output shape {shape(out)}; {layer} has {num(params)} parameters.",
                "zh": f"输出形状为 {shape(out)}；{layer} 的参数量为 {num(params)}。"}
    if a.lead == "parameters":
        headline = {"en": f"{layer} has {num(params)} parameters; a lookup of {shape(a.input_shape)} ids gives {shape(out)}.",
                    "zh": f"{layer} 的参数量为 {num(params)}；查 {shape(a.input_shape)} 个 id 得到 {shape(out)}。"}
    summary = {
        "en": f"A lookup replaces every token id by its row, so an id tensor of shape {shape(a.input_shape)} becomes "
              f"{shape(out)} (one {a.embedding_dim}-dim vector per id, {num(values['lookups'])} lookups). The table is "
              f"{num(a.num_embeddings)} × {num(a.embedding_dim)} = {num(params)} weights, {mib:,.1f} MiB in float32.",
        "zh": f"查表把每个 token id 换成表中对应的一行，所以形状 {shape(a.input_shape)} 的 id 张量变成 {shape(out)}"
              f"（每个 id 一个 {a.embedding_dim} 维向量，共 {num(values['lookups'])} 次查表）。嵌入表为 "
              f"{num(a.num_embeddings)} × {num(a.embedding_dim)} = {num(params)} 个权重，float32 约 {mib:,.1f} MiB。",
    }
    return ToolOutput(headline, summary, values, _code(a))


def _code(a: EmbeddingArgs) -> str:
    return f"""import torch
from torch import nn

table = nn.Embedding({a.num_embeddings}, {a.embedding_dim}, device="meta")  # meta: shapes only, no memory
ids = torch.zeros({", ".join(map(str, a.input_shape))}, dtype=torch.long, device="meta")
y = table(ids)
values = {{
    "parameters": table.weight.numel(),
    "weight_shape": list(table.weight.shape),
    "input_shape": list(ids.shape),
    "output_shape": list(y.shape),
    "lookups": ids.numel(),
    "float32_mib": round(table.weight.numel() * 4 / 2**20, 2),
}}
print(values)
"""


VOCAB = r"num_embeddings|vocab(?:ulary)?(?:[\s_]*size)?|词表(?:大小)?|词汇表?(?:大小)?|词典(?:大小)?"
DIM = r"embedding[_\s]*dim\w*|d_model|hidden(?:[\s_]*size)?|dim(?:ension)?s?\b|维度|维数|向量维度"


def read(text: str) -> dict:
    found = _read_sizes(text)
    if "input_shape" not in found and re.search(r"参数|param|weights?|多大|size of the table|表的大小|memory|显存|内存", text):
        found["lead"] = "parameters"  # the table size was asked, no ids were given
    return found


def _read_sizes(text: str) -> dict:
    found: dict = {}
    written = rd.call_args(text, "embedding")
    if written:
        pos, kw, span = written
        for key, value in zip(("num_embeddings", "embedding_dim"), pos):
            found[key] = value
        text = rd.blank(text, *span)
    if "num_embeddings" not in found and (n := rd.keyed(text, VOCAB, 10)):
        found["num_embeddings"] = n.as_int()
        text = rd.blank(text, n.start, n.end)
    if "embedding_dim" not in found:
        n = rd.before(text, r"维(?!度)|-?dim(?:ension(?:al)?)?s?\b|-d\b", 1) or rd.after(text, DIM, 8)
        if n:
            found["embedding_dim"] = n.as_int()
            text = rd.blank(text, n.start, n.end)
    if m := re.search(r"(?:token[\s_]*ids?|\bids?\b|索引|下标|词\s*id)\s*(?:=|:|为|是|of)?\s*\[([^\[\]]{1,400})\]", text):
        found["input_shape"] = [len(rd.numbers(m.group(1)))]
        return found
    for dims in rd.shapes(text, min_dims=1):
        found["input_shape"] = dims
        return found
    batch = rd.keyed(text, rd.BATCH + r"|sentences?|句子?|个样本|samples?|sequences?(?!\s*len)", 10)
    seq = rd.keyed(text, r"seq(?:uence)?(?:[\s_]*len(?:gth)?)?(?!\w)|序列长度|长度|tokens?|个\s*token|个词|words", 10)
    if seq and batch and (seq.start, seq.end) != (batch.start, batch.end):
        found["input_shape"] = [batch.as_int(), seq.as_int()]
    elif seq:
        found["input_shape"] = [1, seq.as_int()]
    return found


TOOL = register(Tool(
    name="embedding",
    label=("embedding table size and lookup shape", "嵌入表参数量与查表输出形状"),
    description="nn.Embedding(num_embeddings, embedding_dim): parameter count and the output shape of a lookup "
                "(input ids of any shape, e.g. batch × sequence), by formula.",
    args=EmbeddingArgs,
    run=run,
    triggers=r"nn\.embedding|embedding|嵌入|词向量|查表|lookup",
    hints=(r"vocab|词表|词汇", r"参数|param", r"形状|shape|输出|output", r"dim|维"),
    read=read,
))
