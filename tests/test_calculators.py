"""Router-and-value tests: a real question (zh/en, realistic sizes) -> the calculator it routes to -> the number the
answer opens with. Every expected value is computed here independently, by torch or by the textbook formula."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from glossarian.tools import route, run_tool
from glossarian.tools.render import result_text


def ask(question: str):
    call = route(question)
    assert call is not None, f"not routed: {question}"
    result = run_tool(call.name, call.arguments)
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in question) else "en"
    text = result_text(result, lang, call)
    return call, result, text


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def meta(make):
    with torch.device("meta"):
        return make()


def conv_out(x, conv):
    return list(conv(torch.empty(*x, device="meta")).shape)


def hf_lr(k, peak, warmup, total, after="cosine", start=0.0, min_lr=0.0):
    """The schedule by a torch LambdaLR loop (what people run), not by the tool's own function."""
    def factor(i):
        if i < warmup:
            return (start + (peak - start) * i / warmup) / peak
        if after == "constant":
            return 1.0
        progress = min(1.0, (i - warmup) / max(1, total - warmup))
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if after == "cosine" else 1 - progress
        return (min_lr + (peak - min_lr) * shape) / peak
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=peak)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    for _ in range(k):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def close(a, b, rel=1e-3):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-4)


# ---------------------------------------------------------------- the trial's failing cases, verbatim


def test_trial_gap_on_resnet50_output_is_answered_without_allocation():
    call, result, text = ask("GAP 之后 (32, 2048, 7, 7) 变成什么形状")
    expected = list(nn.AdaptiveAvgPool2d(1)(torch.empty(32, 2048, 7, 7, device="meta")).shape)
    assert call.name == "pooling" and result.values["output_shape"] == expected == [32, 2048, 1, 1]
    assert "(32, 2048, 1, 1)" in first_line(text) and "没有算出" not in text


def test_trial_warmup_step_500_in_chinese():
    call, result, text = ask("线性 warmup 1000 步到 3e-4，第 500 步的学习率是多少")
    assert call.name == "lr_schedule"
    assert close(result.values["lr"], hf_lr(500, 3e-4, 1000, 10_000)) and close(result.values["lr"], 1.5e-4)
    assert first_line(text) == "第 500 步的学习率是 1.5e-4。"


def test_trial_warmup_with_total_steps_in_english():
    call, result, text = ask("warmup 1000 steps to 3e-4 with 10000 total steps, what is the lr at step 500?")
    assert call.arguments["total_steps"] == 10_000 and call.arguments["warmup_steps"] == 1000
    assert close(result.values["lr"], hf_lr(500, 3e-4, 1000, 10_000))
    assert first_line(text) == "The learning rate at step 500 is 1.5e-4."


def test_trial_embedding_lookup_honours_batch_and_sequence():
    call, result, text = ask("embedding lookup: vocab 10000, dim 256, batch of 4 sentences of 32 tokens, what's the output shape?")
    table = meta(lambda: nn.Embedding(10_000, 256))
    expected = list(table(torch.zeros(4, 32, dtype=torch.long, device="meta")).shape)
    assert result.values["output_shape"] == expected == [4, 32, 256]
    assert first_line(text).startswith("Output shape (4, 32, 256)")


def test_trial_bert_size_embedding_table():
    call, result, text = ask("nn.Embedding(30000, 768) 输入 shape 为 (2, 16)，输出什么形状，有多少参数")
    table = meta(lambda: nn.Embedding(30_000, 768))
    assert result.values["parameters"] == params(table) == 23_040_000
    assert result.values["output_shape"] == [2, 16, 768]
    assert "(2, 16, 768)" in first_line(text) and "23,040,000" in first_line(text)


def test_trial_resnet_bottleneck_block_counts_the_whole_block():
    call, result, text = ask("ResNet bottleneck block 256->64->256 参数量是多少")
    convs = [meta(lambda: nn.Conv2d(256, 64, 1, bias=False)), meta(lambda: nn.Conv2d(64, 64, 3, bias=False)),
             meta(lambda: nn.Conv2d(64, 256, 1, bias=False))]
    bns = [nn.BatchNorm2d(c) for c in (64, 64, 256)]
    assert call.name == "resnet_bottleneck"
    assert result.values["conv_weights"] == sum(map(params, convs)) == 69_632
    assert result.values["parameters"] == sum(map(params, convs + bns)) == 70_400
    assert "70,400" in first_line(text) and "69,632" in first_line(text)


def test_trial_bottleneck_without_batchnorm_is_69632():
    _, result, text = ask("ResNet bottleneck block 256->64->256 without BN, how many parameters?")
    assert result.values["parameters"] == 69_632 and "69,632" in first_line(text)


@pytest.mark.parametrize("question,logits,target", [
    ("cross entropy of logits [2, 0.5, -1] with target class 0", [2, 0.5, -1], 0),
    ("交叉熵：logits 为 [0.2, 1.5, 3.0]，真实标签是 2", [0.2, 1.5, 3.0], 2),
])
def test_trial_cross_entropy_opens_with_the_plain_value(question, logits, target):
    call, result, text = ask(question)
    expected = F.cross_entropy(torch.tensor([logits], dtype=torch.float64), torch.tensor([target])).item()
    assert close(result.values["loss"], expected)
    assert f"{expected:.4f}" in first_line(text) and "T=" not in text.split("```")[0]


def test_trial_sigmoid_and_iou_get_numbers():
    _, result, text = ask("sigmoid(0.5) 是多少")
    assert close(result.values["sigmoid"][0], torch.sigmoid(torch.tensor(0.5)).item())
    assert first_line(text) == "σ(0.5) = 0.6225。"
    _, result, text = ask("IoU of boxes [0,0,2,2] and [1,1,3,3]")
    assert close(result.values["iou"], 1 / 7) and first_line(text) == "IoU = 1/7 ≈ 0.1429."


def test_trial_cosine_similarity_answers_the_pair_without_embedding_talk():
    _, result, text = ask("cosine similarity between [1,0,1] and [0,1,1]")
    expected = F.cosine_similarity(torch.tensor([1.0, 0, 1]), torch.tensor([0.0, 1, 1]), dim=0).item()
    assert close(result.values["cosine"], expected) and "0.5000" in first_line(text)
    assert "nn.Embedding" not in text


# ---------------------------------------------------------------- shapes and parameter counts

CONV = [
    ("3x3 conv from 64 to 128 channels, stride 2, padding 1, on a 56x56 input: output shape?",
     dict(in_channels=64, out_channels=128, kernel_size=3, stride=2, padding=1), (1, 64, 56, 56)),
    ("nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3) 输入 (8, 3, 224, 224) 输出形状和参数量是多少",
     dict(in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3), (8, 3, 224, 224)),
    ("1x1 卷积从 2048 降到 512，不带偏置，参数量是多少", dict(in_channels=2048, out_channels=512, kernel_size=1, bias=False), (1, 2048, 56, 56)),
    ("how many params in a 1x1 conv from 2048 to 512 channels with bias", dict(in_channels=2048, out_channels=512, kernel_size=1), (1, 2048, 56, 56)),
    ("depthwise 3x3 conv on 32x256x28x28 with padding 1: how many parameters?",
     dict(in_channels=256, out_channels=256, kernel_size=3, padding=1, groups=256), (32, 256, 28, 28)),
    ("3×3 卷积，输入通道 64，输出通道 64，dilation 2，padding 2，输入 1×64×56×56，输出形状是什么",
     dict(in_channels=64, out_channels=64, kernel_size=3, dilation=2, padding=2), (1, 64, 56, 56)),
    ("5x5 conv, 3 -> 32 channels, no bias, input 4x3x32x32, what is the output shape?",
     dict(in_channels=3, out_channels=32, kernel_size=5, bias=False), (4, 3, 32, 32)),
]


@pytest.mark.parametrize("question,layer,x", CONV)
def test_conv2d_shape_and_parameters(question, layer, x):
    call, result, text = ask(question)
    conv = meta(lambda: nn.Conv2d(**layer))
    assert call.name == "conv2d"
    assert result.values["parameters"] == params(conv)
    if layer.get("in_channels") == x[1] and call.arguments["height"] == x[2]:
        assert result.values["output_shape"] == conv_out(x, conv)
    assert f"{params(conv):,}" in first_line(text)


LINEAR = [
    ("nn.Linear(768, 3072) 有多少参数", (768, 3072, True), None),
    ("a linear layer from 4096 to 1000 without bias: how many parameters?", (4096, 1000, False), None),
    ("全连接层从 2048 映射到 10，输入 (32, 2048)，输出形状和参数量", (2048, 10, True), (32, 2048)),
    ("linear layer 768 -> 3072, input shape (8, 128, 768): output shape?", (768, 3072, True), (8, 128, 768)),
]


@pytest.mark.parametrize("question,layer,x", LINEAR)
def test_linear_parameters_and_shape(question, layer, x):
    call, result, text = ask(question)
    fc = meta(lambda: nn.Linear(layer[0], layer[1], bias=layer[2]))
    assert call.name == "linear" and result.values["parameters"] == params(fc)
    if x:
        assert result.values["output_shape"] == list(fc(torch.empty(*x, device="meta")).shape)
    assert f"{params(fc):,}" in first_line(text)


EMBEDDING = [
    ("词表 30000, 768 维的 embedding 有多少参数", 30_000, 768, None),
    ("vocab size 50257, embedding dim 768: how many parameters?", 50_257, 768, None),
    ("nn.Embedding(32000, 4096) 输入 (1, 2048) 输出什么形状", 32_000, 4096, (1, 2048)),
    ("embedding table with a vocabulary of 10k and 512 dims, batch 16, sequence length 128: output shape?", 10_000, 512, (16, 128)),
    ("词表大小 21128，维度 768，batch 8，序列长度 512，embedding 输出形状是多少", 21_128, 768, (8, 512)),
]


@pytest.mark.parametrize("question,vocab,dim,ids", EMBEDDING)
def test_embedding_table_and_lookup(question, vocab, dim, ids):
    call, result, text = ask(question)
    table = meta(lambda: nn.Embedding(vocab, dim))
    assert call.name == "embedding" and result.values["parameters"] == params(table)
    if ids:
        expected = list(table(torch.zeros(*ids, dtype=torch.long, device="meta")).shape)
        assert result.values["output_shape"] == expected
        assert str(tuple(expected)) in first_line(text)
    else:
        assert "输入 id 的形状" in text or "shape of the token ids" in text  # the assumed batch × sequence is said


POOL = [
    ("global average pooling on 32x2048x7x7, what's the output shape?", (32, 2048, 7, 7), nn.AdaptiveAvgPool2d(1)),
    ("batch 32, 2048 channels, 7×7: shape after GAP?", (32, 2048, 7, 7), nn.AdaptiveAvgPool2d(1)),
    ("全局平均池化 (8, 512, 14, 14) 输出形状", (8, 512, 14, 14), nn.AdaptiveAvgPool2d(1)),
    ("2x2 max pooling with stride 2 on (1, 64, 112, 112): output shape?", (1, 64, 112, 112), nn.MaxPool2d(2, 2)),
    ("3×3 最大池化，步长 2，输入 (1, 64, 56, 56)，输出形状是多少", (1, 64, 56, 56), nn.MaxPool2d(3, 2)),
]


@pytest.mark.parametrize("question,x,layer", POOL)
def test_pooling_shapes(question, x, layer):
    call, result, text = ask(question)
    expected = list(layer(torch.empty(*x, device="meta")).shape)
    assert call.name == "pooling" and result.values["output_shape"] == expected
    assert str(tuple(expected)) in first_line(text)


ATTENTION = [
    ("multi-head attention with d_model 512 and 8 heads: how many parameters?", 512, 8),
    ("多头注意力 d_model=768，12 个头，参数量是多少", 768, 12),
    ("nn.MultiheadAttention(1024, 16) parameter count", 1024, 16),
    ("self-attention layer, hidden size 4096, 32 heads, how many params?", 4096, 32),
]


@pytest.mark.parametrize("question,d,h", ATTENTION)
def test_multihead_attention_parameters(question, d, h):
    call, result, text = ask(question)
    mha = meta(lambda: nn.MultiheadAttention(d, h))
    assert call.name == "multihead_attention" and result.values["parameters"] == params(mha)
    assert result.values["head_dim"] == d // h and f"{params(mha):,}" in first_line(text)


BOTTLENECK = [
    ("ResNet bottleneck block 1024->256->1024 参数量", (1024, 256, 1024, 1)),
    ("resnet bottleneck block 256 -> 128 -> 512 with stride 2, how many parameters?", (256, 128, 512, 2)),
    ("ResNet-50 的 bottleneck 模块 512->128->512 有多少参数", (512, 128, 512, 1)),
]


@pytest.mark.parametrize("question,dims", BOTTLENECK)
def test_resnet_bottleneck_with_batchnorm_and_projection(question, dims):
    cin, mid, cout, stride = dims
    layers = [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.Conv2d(mid, mid, 3, stride, 1, bias=False),
              nn.BatchNorm2d(mid), nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
    if stride != 1 or cin != cout:
        layers += [nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)]
    expected = sum(params(meta(lambda m=m: m)) for m in layers)
    call, result, text = ask(question)
    assert call.name == "resnet_bottleneck" and result.values["parameters"] == expected
    assert f"{expected:,}" in first_line(text)


# ---------------------------------------------------------------- losses and metrics


CE = [
    ("cross-entropy of logits [3.2, 1.3, 0.2, 0.8] with target 0", [3.2, 1.3, 0.2, 0.8], 0, 0.0),
    ("logits [1, 2, 3, 4, 5]，目标类别 1，交叉熵是多少", [1, 2, 3, 4, 5], 1, 0.0),
    ("label smoothing 0.1 cross entropy, logits [2, 1, 0.1], target 0", [2, 1, 0.1], 0, 0.1),
    ("标签平滑 0.2 的交叉熵：logits [0.5, 2.5, -1, 0]，标签是 1", [0.5, 2.5, -1, 0], 1, 0.2),
    ("CE loss for logits [-1.5, 0.3, 2.2] and true class 2 with label_smoothing=0.05", [-1.5, 0.3, 2.2], 2, 0.05),
]


@pytest.mark.parametrize("question,logits,target,eps", CE)
def test_cross_entropy_and_label_smoothing_match_pytorch(question, logits, target, eps):
    call, result, text = ask(question)
    expected = F.cross_entropy(torch.tensor([logits], dtype=torch.float64), torch.tensor([target]), label_smoothing=eps).item()
    assert call.name == "cross_entropy" and close(result.values["loss"], expected)
    assert f"{expected:.4f}" in first_line(text)


def test_cross_entropy_from_probabilities_is_minus_log_p():
    _, result, text = ask("cross entropy when the predicted probabilities are [0.7, 0.2, 0.1] and the label is 0")
    assert close(result.values["loss"], -math.log(0.7)) and f"{-math.log(0.7):.4f}" in first_line(text)


def test_cross_entropy_with_temperatures_reports_each():
    _, result, _ = ask("交叉熵 logits [1,2,3] target class 0，温度 0.5、1、2 下损失是多少")
    z = torch.tensor([[1.0, 2, 3]])
    got = {r["temperature"]: r["loss"] for r in result.values["by_temperature"]}
    for t in (0.5, 1, 2):
        assert close(got[t], F.cross_entropy(z / t, torch.tensor([0])).item())


KL = [
    ("KL divergence between P = [0.5, 0.3, 0.2] and Q = [0.4, 0.4, 0.2]", [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]),
    ("算一下 KL 散度：p=[0.1, 0.9]，q=[0.5, 0.5]", [0.1, 0.9], [0.5, 0.5]),
    ("KL(P||Q) for [0.25, 0.25, 0.25, 0.25] and [0.1, 0.2, 0.3, 0.4]", [0.25] * 4, [0.1, 0.2, 0.3, 0.4]),
]


@pytest.mark.parametrize("question,p,q", KL)
def test_kl_divergence_matches_f_kl_div(question, p, q):
    call, result, text = ask(question)
    P, Q = torch.tensor(p, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)
    expected = F.kl_div(Q.log(), P, reduction="sum").item()
    assert call.name == "kl_divergence" and close(result.values["kl_pq"], expected)
    assert f"{expected:.4f}" in first_line(text)


@pytest.mark.parametrize("question,xs", [
    ("sigmoid of 2?", [2.0]),
    ("σ(-1.5) 等于多少", [-1.5]),
    ("compute sigmoid for [0, 1, -3, 10]", [0, 1, -3, 10]),
])
def test_sigmoid_matches_torch(question, xs):
    _, result, text = ask(question)
    expected = torch.sigmoid(torch.tensor(xs, dtype=torch.float64)).tolist()
    assert all(close(a, b) for a, b in zip(result.values["sigmoid"], expected))
    assert f"{expected[0]:.4f}" in first_line(text)


SOFTMAX = [
    ("softmax of [2, 1, 0.1]", [2, 1, 0.1], [1.0]),
    ("[2,1,0.1] 在温度 0.5 和 2 下的 softmax 分别是多少", [2, 1, 0.1], [0.5, 2.0]),
    ("softmax([1, 2, 3]) at T=10", [1, 2, 3], [10.0]),
    ("τ=0.5 时 softmax([3, 1, 0.2]) 等于多少", [3, 1, 0.2], [0.5]),
]


@pytest.mark.parametrize("question,logits,temps", SOFTMAX)
def test_softmax_with_temperature_matches_torch(question, logits, temps):
    call, result, text = ask(question)
    assert call.name == "softmax_temperature" and [r["temperature"] for r in result.values["rows"]] == temps
    for row, t in zip(result.values["rows"], temps):
        expected = torch.softmax(torch.tensor(logits, dtype=torch.float64) / t, -1).tolist()
        assert all(close(a, b) for a, b in zip(row["probabilities"], expected))
    first = torch.softmax(torch.tensor(logits, dtype=torch.float64) / temps[0], -1).tolist()
    assert f"{first[0]:.4f}" in first_line(text)


def box_iou(a, b):
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.parametrize("question,a,b", [
    ("两个框 [10, 10, 50, 50] 和 [30, 30, 70, 70] 的 IoU 是多少", [10, 10, 50, 50], [30, 30, 70, 70]),
    ("IoU between (0, 0, 100, 100) and (50, 0, 150, 100)?", [0, 0, 100, 100], [50, 0, 150, 100]),
    ("iou of [0,0,1,1] and [2,2,3,3]", [0, 0, 1, 1], [2, 2, 3, 3]),
    ("xywh 格式的框 [0, 0, 4, 4] 和 [2, 2, 4, 4] 的交并比", [0, 0, 4, 4], [2, 2, 6, 6]),
])
def test_iou_of_two_boxes(question, a, b):
    _, result, text = ask(question)
    expected = box_iou(a, b)
    assert close(result.values["iou"], expected) and f"{expected:.4f}" in first_line(text)


@pytest.mark.parametrize("question,scores,targets,k", [
    ("top-2 accuracy of scores [[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]] with labels [2, 1, 0]",
     [[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]], [2, 1, 0], 2),
    ("top-1 准确率：分数 [[2, 1, 0], [0, 3, 1], [1, 0, 2], [0, 1, 2]]，真实类别 [0, 1, 1, 2]",
     [[2, 1, 0], [0, 3, 1], [1, 0, 2], [0, 1, 2]], [0, 1, 1, 2], 1),
])
def test_topk_accuracy_matches_torch_topk(question, scores, targets, k):
    _, result, text = ask(question)
    s, t = torch.tensor(scores, dtype=torch.float64), torch.tensor(targets)
    expected = (s.topk(k, dim=1).indices == t[:, None]).any(dim=1).double().mean().item()
    assert close(result.values["accuracy"], expected) and f"{expected:.4f}" in first_line(text)


# ---------------------------------------------------------------- schedules

SCHEDULES = [
    ("warmup 500 steps to 1e-3, cosine decay, 10k total steps, lr at step 5000?", 5000, dict(peak=1e-3, warmup=500, total=10_000)),
    ("预热 2000 步到峰值 5e-4，共 20000 步余弦衰减，第 12000 步学习率是多少", 12_000, dict(peak=5e-4, warmup=2000, total=20_000)),
    ("linear warmup for 100 steps to 0.1, then linear decay, 1000 steps in total: lr at step 550?", 550,
     dict(peak=0.1, warmup=100, total=1000, after="linear")),
    ("warmup from 1e-5 to 3e-4 over 1000 steps, what is the learning rate at step 250?", 250, dict(peak=3e-4, warmup=1000, total=10_000, start=1e-5)),
    ("cosine schedule with lr 0.1, no warmup, 100 epochs in total: what is the lr at epoch 50?", 50, dict(peak=0.1, warmup=0, total=100)),
    ("warmup 5 个 epoch 到 0.1，之后余弦衰减，共 90 个 epoch，第 3 个 epoch 的学习率", 3, dict(peak=0.1, warmup=5, total=90)),
    ("warmup 1,000 steps to 2e-4 then cosine to 1e-5 over 10,000 total steps: lr at step 9000?", 9000,
     dict(peak=2e-4, warmup=1000, total=10_000, min_lr=1e-5)),
]


@pytest.mark.parametrize("question,k,s", SCHEDULES)
def test_learning_rate_at_step_k(question, k, s):
    call, result, text = ask(question)
    expected = hf_lr(k, s["peak"], s["warmup"], s["total"], s.get("after", "cosine"), s.get("start", 0.0), s.get("min_lr", 0.0))
    assert call.name == "lr_schedule", call
    assert close(result.values["lr"], expected), (call.arguments, expected)
    from glossarian.tools.registry import num
    assert num(result.values["lr"]) in first_line(text)


def test_step_after_warmup_without_total_is_refused_in_the_question_language():
    from glossarian.tools.render import compute

    computation = compute("warmup 1000 步到 3e-4，余弦衰减，第 5000 步的学习率是多少", "zh")
    assert computation.results == [] and "总步数" in computation.text and "total" not in computation.text


# ---------------------------------------------------------------- F1 / F-beta (precision and recall, or counts)

def _f_beta(tp: float, fp: float, fn: float, beta: float = 1.0) -> float:
    """F-beta straight from the counts (no precision/recall step): (1+β²)TP / ((1+β²)TP + β²FN + FP)."""
    b2 = beta * beta
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)


@pytest.mark.parametrize("question, expected", [
    ("算一下 precision 0.8、recall 0.6 的 F1 是多少", 2 * 0.8 * 0.6 / 1.4),
    ("精确率 90%，召回率 70%，F1 多少", 2 * 0.9 * 0.7 / 1.6),
    ("compute the F1 for precision 0.5 and recall 0.25", 2 * 0.5 * 0.25 / 0.75),
    ("TP=80, FP=20, FN=40, what's the F1?", _f_beta(80, 20, 40)),
    ("检测结果 TP 45 个，FP 5 个，FN 15 个，F1 值是多少", _f_beta(45, 5, 15)),
    ("F2 score with precision 0.5 recall 0.8", 5 * 0.5 * 0.8 / (4 * 0.5 + 0.8)),
])
def test_f1_from_precision_and_recall_or_counts_opens_with_the_number(question, expected):
    call, result, text = ask(question)
    assert call.name == "f1_score" and close(result.values["f_score"], expected)
    assert first_line(text).startswith(("F1 = ", "F2 = ")) and f"{expected:.4f}" in first_line(text)
    assert not call.defaulted  # nothing assumed: the question gave every input


def test_f1_with_zero_predicted_positives_is_refused_with_the_reason():
    from glossarian.errors import ToolError

    call = route("TP=0, FP=0, FN=10, F1?")
    with pytest.raises(ToolError) as err:
        run_tool(call.name, call.arguments)
    assert "denominator is 0" in str(err.value)


# ---------------------------------------------------------------- found while writing the closing table (2026-11-30)

def test_windowed_max_pooling_with_the_size_after_the_word():
    call, result, text = ask("max pooling 2x2 stride 2 on a (1, 64, 112, 112) input, output shape?")
    expected = list(nn.MaxPool2d(2, 2)(torch.empty(1, 64, 112, 112, device="meta")).shape)
    assert call.arguments["kernel_size"] == 2 and result.values["output_shape"] == expected == [1, 64, 56, 56]


def test_fractions_in_a_distribution_are_one_number_each():
    call, result, _ = ask("KL divergence of p=[0.2, 0.3, 0.5] from q=[1/3, 1/3, 1/3]")
    p, q = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64), torch.full((3,), 1 / 3, dtype=torch.float64)
    assert call.name == "kl_divergence" and close(result.values["kl_pq"], F.kl_div(q.log(), p, reduction="sum").item())


@pytest.mark.parametrize("question, x", [("what is sigmoid of -2?", -2), ("what is sigmoid(0.5)?", 0.5)])
def test_what_is_a_function_of_a_number_is_computed(question, x):
    call, result, text = ask(question)
    assert call.name == "sigmoid" and close(result.values["sigmoid"][0], torch.sigmoid(torch.tensor(float(x))).item())


def test_a_hyphenated_warmup_length_is_read():
    call, result, _ = ask("what is the learning rate at step 500 of a 1000-step warmup to 3e-4")
    assert call.arguments["warmup_steps"] == 1000 and close(result.values["lr"], 1.5e-4)


def test_one_row_of_scores_in_double_brackets_is_a_batch_of_one():
    call, result, _ = ask("what is top-1 accuracy of scores [[0.1, 0.9]] with labels [1]")
    assert call.arguments["scores"] == [[0.1, 0.9]] and close(result.values["accuracy"], 1.0)


@pytest.mark.parametrize("question", ["词表 30000，768 维的 embedding 有多少参数", "nn.Embedding(30000, 768) parameter count"])
def test_an_embedding_table_size_question_opens_with_the_parameter_count(question):
    call, result, text = ask(question)
    assert first_line(text).startswith("nn.Embedding(30000, 768)") and f"{params(nn.Embedding(30000, 768)):,}" in first_line(text)


def test_embedding_lookup_with_a_bare_seq_length():
    call, result, _ = ask("vocab 50000 dim 1024 embedding, output shape for batch 8 seq 128")
    assert result.values["output_shape"] == list(meta(lambda: nn.Embedding(50000, 1024))(
        torch.zeros(8, 128, dtype=torch.long, device="meta")).shape)
