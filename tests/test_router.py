"""Tests for the router: which questions become which calculator calls (zh/en), which stay questions, and that reading
numbers is linear-time and never raises."""
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glossarian.errors import ToolError
from glossarian.tools import ToolCall, get_tool, route, run_tool
from glossarian.tools.reading import nested_lists, number_lists, numbers, shapes
from glossarian.tools.registry import validate
from glossarian.tools.render import compute
from glossarian.tools.router import normalise, unmet_computation

# (question, tool, the arguments the question gives)
COMPUTE = [
    ("算一下 [1,2,3] 在温度 0.5 下的 softmax", "softmax_temperature", {"logits": [1, 2, 3], "temperatures": [0.5]}),
    ("softmax of 1, 2, 3 with temperatures 1, 2 and 0.5", "softmax_temperature", {"logits": [1, 2, 3], "temperatures": [1, 2, 0.5]}),
    ("（1，2，3）的 softmax，温度分别为 1、2、0.5", "softmax_temperature", {"logits": [1, 2, 3], "temperatures": [1, 2, 0.5]}),
    ("请演示 softmax 温度", "softmax_temperature", {}),
    ("GAP 2×64×7×7", "pooling", {"shape": [2, 64, 7, 7]}),
    ("apply GAP to a tensor of shape [8, 512, 14, 14]", "pooling", {"shape": [8, 512, 14, 14]}),
    ("GAP 作用在 64 通道 7×7 的特征图上，输出形状是多少", "pooling", {"shape": [2, 64, 7, 7]}),
    ("1x1 卷积从 1024 降到 256 参数量是多少", "conv2d", {"in_channels": 1024, "out_channels": 256, "kernel_size": 1}),
    ("nn.Linear(512, 128, bias=False) 参数量", "linear", {"in_features": 512, "out_features": 128, "bias": False}),
    ("warmup 5 epochs to lr 0.1 then cosine over 30", "lr_schedule",
     {"peak_lr": 0.1, "warmup_steps": 5, "total_steps": 30, "after": "cosine", "unit": "epoch"}),
    ("预热 10 步，学习率 3e-4，共 100 步，之后线性衰减", "lr_schedule",
     {"peak_lr": 0.0003, "warmup_steps": 10, "total_steps": 100, "after": "linear", "unit": "step"}),
    ("show me the lr schedule with 500 warmup steps, total 10000 steps, peak lr 1e-3", "lr_schedule",
     {"peak_lr": 0.001, "warmup_steps": 500, "total_steps": 10000}),
    ("10k total steps, warmup 2k, lr 5e-4: lr at step 1500?", "lr_schedule",
     {"total_steps": 10000, "warmup_steps": 2000, "peak_lr": 0.0005, "step": 1500}),
    ("冻结 backbone 后有多少可训练参数？", "backbone_neck_head", {"freeze_backbone": True}),
    ("Freeze the backbone and use 5 classes: how many trainable parameters?", "backbone_neck_head", {"num_classes": 5, "freeze_backbone": True}),
    ("compute the cosine similarity between [1, 0] and [0, 1] and [1, 1]", "cosine_similarity", {"vectors": [[1, 0], [0, 1], [1, 1]]}),
    ("KL divergence of [0.9, 0.1] from [0.5, 0.5]", "kl_divergence", {"p": [0.9, 0.1], "q": [0.5, 0.5]}),
    ("多头注意力 d_model 512，8 个头，序列长度 128，参数量", "multihead_attention", {"embed_dim": 512, "num_heads": 8, "seq_len": 128}),
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
    "T=0.5",
    "what is top-5 accuracy?",
    "什么是 ResNet-50 的 bottleneck",
    "KL 散度为什么不对称",
    "how does label smoothing change cross-entropy?",
    "IoU 一般取多少算检测正确",
    "sigmoid 和 softmax 有什么区别",
    "多头注意力的头数一般设多少",
    "",
    "   ",
]


@pytest.mark.parametrize("question,name,given_args", COMPUTE)
def test_computation_questions_become_calculator_calls(question, name, given_args):
    call = route(question)
    assert isinstance(call, ToolCall) and call.name == name, (question, call)
    for key, value in given_args.items():
        assert call.arguments[key] == value, key
    tool = get_tool(name)
    assert set(call.arguments) == {p.name for p in tool.params}
    assert not set(call.defaulted) & set(given_args), "a value the question gives is never reported as assumed"
    assert validate(tool, call.arguments).model_dump(mode="json") == call.arguments  # exactly what run_tool accepts


@pytest.mark.parametrize("question", DEFINITIONS)
def test_definition_questions_are_not_routed(question):
    assert route(question) is None


@pytest.mark.parametrize("text,expected", [
    ("3e-4", [0.0003]), ("10k", [10000]), ("1.5m", [1500000]), ("2万", [20000]), ("-1", [-1]), (".5", [0.5]),
    ("10,000 steps", [10000]), ("[1,000, 2]", [1, 0, 2]), ("resnet50 fp16 conv1x1", []), ("256-64-256", [256, 64, 256]),
    ("x = -2.5e3", [-2500.0]),
])
def test_numbers_are_read_as_engineers_write_them(text, expected):
    assert [n.value for n in numbers(normalise(text))] == pytest.approx(expected)


@pytest.mark.parametrize("text,expected", [
    ("(32, 2048, 7, 7)", [[32, 2048, 7, 7]]), ("32x2048x7x7", [[32, 2048, 7, 7]]), ("2 × 64 × 7 × 7", [[2, 64, 7, 7]]),
    ("输入 [8, 3, 224, 224]", [[8, 3, 224, 224]]),
])
def test_shapes_in_every_notation(text, expected):
    assert shapes(normalise(text)) == expected


def test_lists_and_nested_lists():
    assert number_lists("logits [2, 0.5, -1]") == [[2, 0.5, -1]]
    assert number_lists("0.5、1 和 2") == [[0.5, 1, 2]]
    assert nested_lists("[[1, 2], [3, 4]] and [5]") == [[[1, 2], [3, 4]]]


@pytest.mark.parametrize("question,name,where", [
    ("softmax of [nan, 1, 2] at T=1", "softmax_temperature", "logits[0] = nan"),
    ("softmax of nan, 1, 2", "softmax_temperature", "logits[0] = nan"),
    ("算一下 softmax([1, 2, -inf])", "softmax_temperature", "logits[2] = -inf"),
    ("iou of [0, 0, inf, 2] and [1, 1, 3, 3]", "iou", "box_a[2] = inf"),
    ("kl divergence p = [0.5, nan] q = [0.5, 0.5]", "kl_divergence", "p[1] = nan"),
])
def test_nan_or_infinity_in_a_list_is_refused_not_dropped(question, name, where):
    """Computing on the other numbers would answer a question nobody asked."""
    call = route(question)
    assert call is not None and call.name == name
    with pytest.raises(ToolError) as caught:
        run_tool(call.name, call.arguments)
    assert where in str(caught.value) and "not a finite number" in str(caught.value)


def test_words_that_contain_nan_or_inf_are_not_numbers():
    assert number_lists("information, infinite banana 1, 2") == [[1, 2]]


def finishes(fn, *args) -> bool:
    """Runs fn in a thread; True when it returns (an exponential regex would not, for these inputs)."""
    done = threading.Event()
    threading.Thread(target=lambda: (fn(*args), done.set()), daemon=True).start()
    return done.wait(60)


@pytest.mark.parametrize("question", [
    "softmax of [1" + "   1" * 40 + " x",  # the security probe's case: 7.3 s at 14 repeats before, exponential
    "softmax of 1" + ", 1" * 3000 + " x",
    "GAP " + "1x" * 3000 + "y",
    "warmup " + "1 步" * 2000,
    "[" * 2000 + "1" + "]" * 2000,
    "交叉熵 " + "(1, " * 1500,
])
def test_reading_is_linear_on_adversarial_input(question):
    assert finishes(route, question)
    assert finishes(compute, question, "en")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"(softmax|warmup|GAP|交叉熵|backbone|iou|kl)? ?[\[(]?[-0-9., x×、ek]{0,30}[\])]?", fullmatch=True))
def test_route_never_raises(question):
    call = route(question)
    assert call is None or isinstance(call, ToolCall)


def test_route_rejects_non_strings_quietly():
    assert route(None) is None  # type: ignore[arg-type]
    assert route(123) is None  # type: ignore[arg-type]


def test_follow_up_uses_the_conversation_subject_to_pick_the_calculator():
    assert route("compute it for a 2x64x7x7 tensor") is None
    call = route("compute it for a 2x64x7x7 tensor", context="Global Average Pooling 全局平均池化")
    assert call.name == "pooling" and call.arguments["shape"] == [2, 64, 7, 7]


@pytest.mark.parametrize("question,lang", [("F1 score for precision 0.8 and recall 0.6, compute it", "en"),
                                           ("算一下 precision 0.8、recall 0.6 的 F1 是多少", "zh")])
def test_no_calculator_fits_says_so_in_one_line_in_the_question_language(question, lang):
    assert unmet_computation(question)
    computation = compute(question, lang)
    assert computation.standalone and computation.results == [] and "\n" not in computation.text
    assert ("没有对应的计算器" in computation.text) == (lang == "zh")


def test_a_definition_question_is_not_called_an_unmet_computation():
    assert not unmet_computation("什么是 F1 分数？") and compute("什么是 F1 分数？", "zh") is None


def test_refusals_come_in_the_question_language():
    zh = compute("算一下 [1,2,3] 在温度 0 下的 softmax", "zh")
    en = compute("compute the softmax of [1, 2, 3] at temperature 0", "en")
    assert zh.results == [] and zh.text.startswith("没有算出结果：") and "must" not in zh.text
    assert en.text.startswith("The computation did not run:") and "0.01" in en.text


def test_a_demo_without_values_says_what_it_assumed():
    call = route("请演示 softmax 温度")
    assert call.arguments["temperatures"] == [0.5, 1.0, 2.0] and "temperatures" in call.defaulted
    text = compute("请演示 softmax 温度", "zh").text
    assert "（问题里没有给出的值按以下假设计算：logits = [1, 2, 3]，温度 = [0.5, 1, 2]。）" in text
    assert "temperatures" not in text.split("```")[0], "no internal argument names in prose"


def test_the_old_demo_names_still_resolve():
    for old, new in [("bottleneck_projection", "conv2d"), ("global_average_pooling", "pooling"), ("warmup_schedule", "lr_schedule"),
                     ("embedding_similarity", "cosine_similarity"), ("cross_entropy_temperature", "cross_entropy")]:
        assert get_tool(old).name == new
        assert run_tool(old, {}).name == new
