"""multihead_attention calculator: parameters and shapes of nn.MultiheadAttention(d_model, heads), by formula."""
from __future__ import annotations

from glossarian.tools import reading as rd
from glossarian.tools.registry import Args, Tool, ToolOutput, arg, num, refuse, register, shape


class AttentionArgs(Args):
    embed_dim: int = arg(512, "model width d_model", "模型维度 d_model", "embed_dim (d_model).", ge=1, le=1_000_000)
    num_heads: int = arg(8, "number of heads", "头数", "Number of attention heads (must divide embed_dim).", ge=1, le=10_000)
    bias: bool = arg(True, "bias", "偏置", "Whether the projections have biases (PyTorch's default: true).", quiet=True)
    batch: int = arg(1, "batch size", "batch 大小", "Batch size N.", quiet=True, ge=1, le=1_000_000)
    seq_len: int = arg(10, "sequence length", "序列长度", "Sequence length L.", ge=1, le=10_000_000)


def run(a: AttentionArgs) -> ToolOutput:
    if a.embed_dim % a.num_heads:
        raise refuse(f"embed_dim = {a.embed_dim} is not divisible by num_heads = {a.num_heads}.",
                     f"模型维度 {a.embed_dim} 不能被头数 {a.num_heads} 整除。",
                     "Pick a head count that divides d_model, e.g. 8 for 512.", "请选能整除 d_model 的头数，例如 512 用 8 个头。")
    d, h = a.embed_dim, a.num_heads
    weights = 4 * d * d
    biases = 4 * d if a.bias else 0
    params = weights + biases
    out = [a.batch, a.seq_len, d]
    attn = [a.batch, h, a.seq_len, a.seq_len]
    values = {"parameters": params, "weight_parameters": weights, "bias_parameters": biases, "head_dim": d // h,
              "output_shape": out, "attention_weights_shape": attn}
    headline = {"en": f"nn.MultiheadAttention({d}, {h}) has {num(params)} parameters; each head has dimension {d // h}.",
                "zh": f"nn.MultiheadAttention({d}, {h}) 的参数量为 {num(params)}；每个头的维度为 {d // h}。"}
    b_en, b_zh = (f" + 4 × {d} biases", f" + 4 × {d} 个偏置") if a.bias else ("", "")
    summary = {
        "en": f"Q, K, V and the output projection are four {d} × {d} matrices: 4 × {d}² = {num(weights)}{b_en} = {num(params)}; "
              f"the head count only splits d_model ({h} × {d // h}), it does not change the count. With batch_first=True an input "
              f"{shape(out)} gives an output {shape(out)} and per-head attention weights {shape(attn)}.",
        "zh": f"Q、K、V 投影和输出投影是四个 {d} × {d} 矩阵：4 × {d}² = {num(weights)}{b_zh} = {num(params)}；"
              f"头数只是把 d_model 切成 {h} × {d // h}，不改变参数量。batch_first=True 时输入 {shape(out)} 的输出为 {shape(out)}，"
              f"每个头的注意力权重形状为 {shape(attn)}。",
    }
    code = f"""import torch
from torch import nn

mha = nn.MultiheadAttention({d}, {h}, bias={a.bias}, batch_first=True)
x = torch.zeros({a.batch}, {a.seq_len}, {d})
y, weights = mha(x, x, x, average_attn_weights=False)
values = {{
    "parameters": sum(p.numel() for p in mha.parameters()),
    "weight_parameters": mha.in_proj_weight.numel() + mha.out_proj.weight.numel(),
    "bias_parameters": (mha.in_proj_bias.numel() + mha.out_proj.bias.numel()) if {a.bias} else 0,
    "head_dim": mha.head_dim,
    "output_shape": list(y.shape),
    "attention_weights_shape": list(weights.shape),
}}
print(values)
"""
    return ToolOutput(headline, summary, values, code)


def read(text: str) -> dict:
    found: dict = {}
    written = rd.call_args(text, "multiheadattention")
    if written:
        pos, kw, span = written
        for key, value in zip(("embed_dim", "num_heads"), pos):
            found[key] = value
        text = rd.blank(text, *span)
    if "num_heads" not in found and (n := rd.before(text, r"heads?\b|个头|个注意力头", 2)
                                     or rd.after(text, r"heads?\s*(?:=|:)|num_heads|头数|heads?\b", 8)):
        found["num_heads"] = n.as_int()
        text = rd.blank(text, n.start, n.end)
    if "embed_dim" not in found and (n := rd.after(text, r"d_model|embed_dim|hidden(?:[\s_]*size)?|dim(?:ension)?\b|维度|宽度", 8)
                                     or rd.before(text, r"维|-?dim\w*|d_model", 3)):
        found["embed_dim"] = n.as_int()
        text = rd.blank(text, n.start, n.end)
    if n := rd.keyed(text, r"seq(?:uence)?(?:[\s_]*len(?:gth)?)?|序列长度|tokens?|个\s*token", 8):
        found["seq_len"] = n.as_int()
    if n := rd.after(text, rd.BATCH, 8):
        found["batch"] = n.as_int()
    if (b := rd.flag(text, rd.WITH_BIAS, rd.NO_BIAS)) is not None:
        found["bias"] = b
    return found


TOOL = register(Tool(
    name="multihead_attention",
    label=("multi-head attention parameters", "多头注意力参数量"),
    description="Parameter count, head dimension and shapes of nn.MultiheadAttention(embed_dim, num_heads), by formula.",
    args=AttentionArgs,
    run=run,
    triggers=r"multi-?\s*head|multiheadattention|多头注意力|多头|self-?attention|自注意力|attention\s+(?:layer|block)|注意力层",
    hints=(r"参数|param", r"heads?|头", r"d_model|dim|维"),
    read=read,
))
