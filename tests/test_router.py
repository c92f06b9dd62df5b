"""Tests for the deterministic router: which questions become which tool calls (zh and en), and which stay questions."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glossarian.errors import ToolError
from glossarian.tools import ToolCall, get_tool, route, run_tool
from glossarian.tools.registry import validate

# (question, tool, the arguments the question gives). Everything not listed must come back defaulted.
COMPUTE = [
    # softmax_temperature
    ("算一下 [1,2,3] 在温度 0.5 下的 softmax", "softmax_temperature", {"logits": [1.0, 2.0, 3.0], "temperatures": [0.5]}),
    ("what is the softmax of [1, 2, 3] at a temperature of 4?", "softmax_temperature", {"logits": [1.0, 2.0, 3.0], "temperatures": [4.0]}),
    ("softmax of 1, 2, 3 with temperatures 1, 2 and 0.5", "softmax_temperature", {"logits": [1.0, 2.0, 3.0], "temperatures": [1.0, 2.0, 0.5]}),
    ("（1，2，3）的 softmax，温度分别为 1、2、0.5", "softmax_temperature", {"logits": [1.0, 2.0, 3.0], "temperatures": [1.0, 2.0, 0.5]}),
    ("τ=0.5 时 softmax([2, 1, 0]) 等于多少", "softmax_temperature", {"logits": [2.0, 1.0, 0.0], "temperatures": [0.5]}),
    ("T=2 的 softmax 输出是多少？logits 为 [1, 2, 3]", "softmax_temperature", {"logits": [1.0, 2.0, 3.0], "temperatures": [2.0]}),
    ("给我算一下 logits (2.0, 1.0, 0.1) 的 softmax", "softmax_temperature", {"logits": [2.0, 1.0, 0.1]}),
    ("logits 为 -1, 0, 1 时的 softmax 是多少", "softmax_temperature", {"logits": [-1.0, 0.0, 1.0]}),
    ("帮我 compute softmax of [1,2,3] at T=2", "softmax_temperature", {"logits": [1.0, 2.0, 3.0], "temperatures": [2.0]}),
    ("softmax temperature 0.5", "softmax_temperature", {"temperatures": [0.5]}),
    ("temperature 2 for logits [1, 2, 3]", "softmax_temperature", {"logits": [1.0, 2.0, 3.0], "temperatures": [2.0]}),
    ("softmax([1, 2, 3])", "softmax_temperature", {"logits": [1.0, 2.0, 3.0]}),
    ("请演示 softmax 温度", "softmax_temperature", {}),
    # global_average_pooling
    ("(2, 64, 7, 7) 经过全局平均池化后形状是什么", "global_average_pooling", {"shape": [2, 64, 7, 7]}),
    ("global average pooling on a 2x64x7x7 tensor: what's the output shape?", "global_average_pooling", {"shape": [2, 64, 7, 7]}),
    ("GAP 2×64×7×7", "global_average_pooling", {"shape": [2, 64, 7, 7]}),
    ("apply GAP to a tensor of shape [8, 512, 14, 14]", "global_average_pooling", {"shape": [8, 512, 14, 14]}),
    ("AdaptiveAvgPool2d(1) 对 [4, 256, 14, 14] 输出什么形状", "global_average_pooling", {"shape": [4, 256, 14, 14]}),
    ("GAP on (64, 7, 7)", "global_average_pooling", {"shape": [64, 7, 7]}),
    ("GAP 作用在 64 通道 7×7 的特征图上，输出形状是多少", "global_average_pooling", {"shape": [2, 64, 7, 7]}),
    ("演示一下 GAP", "global_average_pooling", {}),
    ("GAP 有多少参数", "global_average_pooling", {}),
    # bottleneck_projection
    ("1x1 卷积从 1024 降到 256 参数量是多少", "bottleneck_projection", {"in_dim": 1024, "out_dim": 256, "kind": "conv1x1"}),
    ("bottleneck 1024 -> 256 without bias, how many parameters?", "bottleneck_projection", {"in_dim": 1024, "out_dim": 256, "bias": False}),
    ("a linear projection from 1024 to 256 dims: how many parameters?", "bottleneck_projection", {"in_dim": 1024, "out_dim": 256, "kind": "linear"}),
    ("nn.Linear(512, 128, bias=False) 参数量", "bottleneck_projection", {"in_dim": 512, "out_dim": 128, "kind": "linear", "bias": False}),
    ("how many parameters does a 1x1 conv from 256 to 64 channels have without bias?", "bottleneck_projection",
     {"in_dim": 256, "out_dim": 64, "kind": "conv1x1", "bias": False}),
    ("用 1×1 卷积把 2048 通道压缩到 512，特征图 14×14", "bottleneck_projection", {"in_dim": 2048, "out_dim": 512, "kind": "conv1x1", "spatial": 14}),
    ("bottleneck: 2048 → 512, conv1x1, 7x7 feature map", "bottleneck_projection", {"in_dim": 2048, "out_dim": 512, "kind": "conv1x1", "spatial": 7}),
    # warmup_schedule
    ("warm up 5 个 epoch 到 0.1，画一下学习率", "warmup_schedule", {"base_lr": 0.1, "warmup_steps": 5, "unit": "epoch"}),
    ("warmup 5 epochs to lr 0.1 then cosine over 30", "warmup_schedule",
     {"base_lr": 0.1, "warmup_steps": 5, "total_steps": 30, "after": "cosine", "unit": "epoch"}),
    ("预热 10 步，学习率 3e-4，共 100 步，之后线性衰减", "warmup_schedule",
     {"base_lr": 0.0003, "warmup_steps": 10, "total_steps": 100, "after": "linear", "unit": "step"}),
    ("画出 warmup 5 个 epoch、总共 30 个 epoch 的余弦学习率曲线", "warmup_schedule",
     {"warmup_steps": 5, "total_steps": 30, "after": "cosine", "unit": "epoch"}),
    ("show me the lr schedule with 500 warmup steps, total 10000 steps, peak lr 1e-3", "warmup_schedule",
     {"base_lr": 0.001, "warmup_steps": 500, "total_steps": 10000, "unit": "step"}),
    ("warmup from 0.001 to 0.1 over the first 5 epochs, 20 epochs in total", "warmup_schedule",
     {"base_lr": 0.1, "warmup_steps": 5, "total_steps": 20, "start_lr": 0.001, "unit": "epoch"}),
    ("学习率从 0.001 线性升到 0.1，预热 5 个 epoch，演示一下", "warmup_schedule",
     {"base_lr": 0.1, "warmup_steps": 5, "start_lr": 0.001, "unit": "epoch"}),
    ("warmup 10 steps then constant lr 0.01, total 50 steps, plot it", "warmup_schedule",
     {"base_lr": 0.01, "warmup_steps": 10, "total_steps": 50, "after": "constant", "unit": "step"}),
    ("plot a warmup schedule", "warmup_schedule", {}),
    # embedding_similarity
    ("compute the cosine similarity between [1, 0] and [0, 1] and [1, 1]", "embedding_similarity",
     {"vectors": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]}),
    ("two vectors [1, 2, 3] and [2, 4, 6]: cosine similarity?", "embedding_similarity", {"vectors": [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]}),
    ("embedding 的 token ids [4, 5, 6] 查表结果，词表 100，维度 8", "embedding_similarity",
     {"num_embeddings": 100, "embedding_dim": 8, "token_ids": [4, 5, 6]}),
    ("embedding 查表：token ids 1, 5, 7，向量维度 16，演示一下", "embedding_similarity", {"embedding_dim": 16, "token_ids": [1, 5, 7]}),
    ("nn.Embedding(1000, 64) 查 id [3, 14, 15] 的余弦相似度", "embedding_similarity",
     {"num_embeddings": 1000, "embedding_dim": 64, "token_ids": [3, 14, 15]}),
    # backbone_neck_head
    ("冻结 backbone 后有多少可训练参数？", "backbone_neck_head", {"freeze_backbone": True}),
    ("how many parameters does the model have if I freeze the backbone, 100 classes", "backbone_neck_head",
     {"num_classes": 100, "freeze_backbone": True}),
    ("Freeze the backbone and use 5 classes: how many trainable parameters?", "backbone_neck_head", {"num_classes": 5, "freeze_backbone": True}),
    ("unfreeze the backbone: how many parameters train?", "backbone_neck_head", {"freeze_backbone": False}),
    ("backbone neck head 的参数量，不冻结", "backbone_neck_head", {"freeze_backbone": False}),
    ("backbone 参数量是多少？10 类分类", "backbone_neck_head", {"num_classes": 10}),
    # cross_entropy_temperature
    ("交叉熵 logits [1,2,3] target class 0，温度 0.5、1、2、4 下损失是多少", "cross_entropy_temperature",
     {"logits": [1.0, 2.0, 3.0], "target": 0, "temperatures": [0.5, 1.0, 2.0, 4.0]}),
    ("cross entropy of [1, 2, 3] with target 2 at T=0.5 and T=4", "cross_entropy_temperature",
     {"logits": [1.0, 2.0, 3.0], "target": 2, "temperatures": [0.5, 4.0]}),
    ("交叉熵在温度 T=2 时，target 为 0，logits 为 [1, 2, 3]", "cross_entropy_temperature",
     {"logits": [1.0, 2.0, 3.0], "target": 0, "temperatures": [2.0]}),
    ("cross-entropy temperature demo with a misclassified example, target class 0", "cross_entropy_temperature", {"target": 0}),
    ("calculate the cross entropy loss for logits [2, 0.5, -1] and label 1 at temperatures 0.5, 1, 2", "cross_entropy_temperature",
     {"logits": [2.0, 0.5, -1.0], "target": 1, "temperatures": [0.5, 1.0, 2.0]}),
    ("show me the cross-entropy temperature demo", "cross_entropy_temperature", {}),
]

DEFINITIONS = [
    "什么是 softmax 温度？",
    "what is a backbone?",
    "GAP 是什么",
    "warmup 有什么用",
    "what is the softmax temperature?",
    "What is a 1x1 convolution?",
    "为什么要冻结 backbone？",
    "embedding 和 one-hot 有什么区别",
    "how is softmax computed?",
    "softmax 是怎么计算的",
    "ResNet-50 的 backbone 是什么",
    "warmup 一般设多少个 epoch",
    "what does the neck do in a detector?",
    "softmax 温度越高分布越平吗？",
    "why does a larger temperature raise the cross-entropy loss?",
    "解释一下 bottleneck 层",
    "what is the difference between a backbone and a neck?",
    "what is global average pooling?",
    "warmup 和学习率衰减有什么关系",
    "余弦相似度是什么",
    "How is the learning rate warmup computed?",
    "Explain global average pooling vs flatten",
    "what's the role of the head in a classifier?",
    "τ 是什么意思",
    "1+1 等于多少",  # a computation, but about none of our tools
    "T=0.5",
    "",
    "   ",
]


@pytest.mark.parametrize("question,name,given_args", COMPUTE)
def test_computation_questions_become_tool_calls(question, name, given_args):
    call = route(question)
    assert isinstance(call, ToolCall), question
    assert call.name == name
    for key, value in given_args.items():
        assert call.arguments[key] == value, key
    tool = get_tool(name)
    assert call.defaulted == [p.name for p in tool.params if p.name not in given_args]
    for key in call.defaulted:
        assert call.arguments[key] == tool.defaults()[key]
    assert list(call.arguments) == [p.name for p in tool.params]
    assert validate(tool, call.arguments) == call.arguments  # the router proposes exactly what run_tool accepts


@pytest.mark.parametrize("question", DEFINITIONS)
def test_definition_questions_are_not_routed(question):
    assert route(question) is None


def test_a_routed_call_runs_end_to_end():
    call = route("warmup 5 epochs to lr 0.1 then cosine over 30")
    result = run_tool(call.name, call.arguments)
    assert result.values["lrs"][5] == 0.1 and len(result.values["lrs"]) == 30


def test_router_output_can_be_refused_by_the_tool_with_a_clear_message():
    call = route("算一下 [1,2,3] 在温度 0 下的 softmax")
    assert call is not None and call.arguments["temperatures"] == [0.0]
    with pytest.raises(ToolError) as caught:
        run_tool(call.name, call.arguments)
    assert "between 0.01 and 100" in str(caught.value)


def test_defaults_are_copies():
    call = route("请演示 softmax 温度")
    call.arguments["logits"].append(42.0)
    assert route("请演示 softmax 温度").arguments["logits"] == [1.0, 2.0, 3.0]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"(softmax|warmup|GAP|交叉熵|backbone)? ?[\[(]?[-0-9., x×、]{0,30}[\])]?", fullmatch=True))
def test_route_never_raises(question):
    call = route(question)
    assert call is None or isinstance(call, ToolCall)


def test_route_rejects_non_strings_quietly():
    assert route(None) is None  # type: ignore[arg-type]
    assert route(123) is None  # type: ignore[arg-type]
