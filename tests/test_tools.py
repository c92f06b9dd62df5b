"""Contract tests over every calculator (schema, result, snippet, figure, refusals) and the registry's run safety."""
import contextlib
import io
import json
import math
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glossarian.errors import ToolError
from glossarian.tools import Refused, ToolResult, get_tool, list_tools, run_tool, tool_names
from glossarian.tools import registry
from glossarian.tools.registry import Args, Tool, ToolOutput, arg

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = tool_names(aliases=False)
CJK = ("\u4e00", "\u9fff")


@pytest.fixture(scope="module")
def defaults() -> dict[str, ToolResult]:
    return {name: run_tool(name, {}) for name in NAMES}


def refusal(name: str, arguments, **kwargs) -> Refused:
    with pytest.raises(Refused) as caught:
        run_tool(name, arguments, **kwargs)
    error = caught.value
    assert error.hint and error.hint_zh, "every refusal says how to fix it, in both languages"
    assert any(CJK[0] <= ch <= CJK[1] for ch in error.text("zh")), "the Chinese refusal is in Chinese"
    return error


def close(a, b) -> bool:
    """Snippet values are unrounded; tool values are rounded to 4 decimals (4 significant digits when tiny)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return a == b
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4)


def run_snippet(code: str) -> dict:
    namespace: dict = {"__name__": "__snippet__"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<tool snippet>", "exec"), namespace)
    return namespace["values"]


# ---------------------------------------------------------------- contract, for every registered calculator


def test_every_calculator_the_issue_asks_for_is_registered():
    assert set(NAMES) == {
        "conv2d", "linear", "embedding", "pooling", "resnet_bottleneck", "multihead_attention", "cross_entropy",
        "kl_divergence", "sigmoid", "softmax_temperature", "iou", "topk_accuracy", "lr_schedule", "cosine_similarity",
        "backbone_neck_head",
    }


@pytest.mark.parametrize("name", NAMES)
def test_schema_comes_from_the_arguments_model(name):
    t = get_tool(name)
    schema = json.loads(json.dumps(t.schema))
    fn = schema["function"]
    assert schema["type"] == "function" and fn["name"] == name and len(fn["description"]) > 20
    params = fn["parameters"]
    assert params["type"] == "object" and params["additionalProperties"] is False
    assert list(params["properties"]) == list(t.args.model_fields)
    for pname, prop in params["properties"].items():
        assert prop["description"] and "zh" not in prop and "quiet" not in prop
        assert prop["default"] == t.defaults()[pname]
    assert all(p.label_en and p.label_zh for p in t.params), "every argument has a human label in both languages"


@pytest.mark.parametrize("name", NAMES)
def test_default_run_honours_the_result_contract(name, defaults):
    result = defaults[name]
    assert isinstance(result, ToolResult) and result.name == name and result.arguments == get_tool(name).defaults()
    for part in (result.headline, result.summary):
        assert set(part) == {"zh", "en"} and all(part.values())
        assert not any(CJK[0] <= ch <= CJK[1] for ch in part["en"]), "no Chinese inside English answers"
    assert any(CJK[0] <= ch <= CJK[1] for ch in result.summary["zh"])
    assert result.headline["zh"].endswith("。"), "a Chinese headline is punctuated as Chinese (σ(0.5) = 0.6225。)"
    assert any(ch.isdigit() for ch in result.headline["en"]), "the headline carries the number"
    payload = json.loads(json.dumps(result.to_json()))
    assert payload["values"] == result.values and payload["has_figure"] == (result.figure_png is not None)


@pytest.mark.parametrize("name", [n for n in NAMES if n in ("softmax_temperature", "lr_schedule")])
def test_figures_are_valid_pngs(name, defaults):
    from PIL import Image

    png = defaults[name].figure_png
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.size[0] > 200 and image.size[1] > 150


SNIPPET_CASES = [(name, {}) for name in NAMES] + [
    ("conv2d", {"in_channels": 32, "out_channels": 64, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 2, "bias": False,
                "batch": 2, "height": 17, "width": 9}),
    ("linear", {"in_features": 768, "out_features": 3072, "bias": False, "leading_shape": [8, 128]}),
    ("embedding", {"num_embeddings": 30000, "embedding_dim": 768, "input_shape": [2, 16]}),
    ("pooling", {"shape": [32, 2048, 7, 7]}),
    ("pooling", {"shape": [1, 64, 112, 112], "kind": "max", "kernel_size": 3, "stride": 2, "padding": 1}),
    ("resnet_bottleneck", {"in_channels": 256, "mid_channels": 128, "out_channels": 512, "stride": 2}),
    ("resnet_bottleneck", {"batch_norm": False, "bias": True}),
    ("multihead_attention", {"embed_dim": 64, "num_heads": 4, "seq_len": 5, "batch": 2, "bias": False}),
    ("cross_entropy", {"logits": [3, 1, 0.2], "target": 1, "label_smoothing": 0.1, "temperatures": [4, 0.5, 1]}),
    ("cross_entropy", {"logits": [0.7, 0.2, 0.1], "target": 0, "inputs": "probabilities"}),
    ("kl_divergence", {"p": [0.1, 0.9], "q": [0.5, 0.5]}),
    ("sigmoid", {"x": [-30, 0, 2.5]}),
    ("softmax_temperature", {"logits": [-1, 0, 4, 2.5], "temperatures": [0.1, 10]}),
    ("iou", {"box_a": [5, 5, 4, 4], "box_b": [6, 6, 4, 4], "box_format": "cxcywh"}),
    ("iou", {"box_a": [0, 0, 4, 4], "box_b": [2, 2, 4, 4], "box_format": "xywh"}),
    ("topk_accuracy", {"scores": [[1, 5, 3], [4, 2, 0]], "targets": [2, 1], "k": 1}),
    ("lr_schedule", {"peak_lr": 3e-4, "warmup_steps": 100, "total_steps": 1000, "step": 700, "after": "linear", "min_lr": 1e-5}),
    ("lr_schedule", {"peak_lr": 0.1, "warmup_steps": 5, "total_steps": 40, "start_lr": 0.01}),
    ("cosine_similarity", {"vectors": [[1, 0], [0, 1], [1, 1]]}),
    ("backbone_neck_head", {"num_classes": 3, "freeze_backbone": False}),
]


@pytest.mark.parametrize("name,arguments", SNIPPET_CASES)
def test_code_snippet_reproduces_values(name, arguments, defaults):
    result = defaults[name] if not arguments else run_tool(name, arguments)
    assert "import torch" in result.code
    assert close(run_snippet(result.code), result.values)


def test_importing_tools_and_routing_does_not_import_torch_or_matplotlib():
    code = ("import sys; from glossarian.tools import route; route('softmax of [1, 2, 3] at T=2'); "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("name,arguments,words", [
    ("softmax_temperature", {"logits": "1, 2"}, "logits"),
    ("softmax_temperature", {"logits": [1, None]}, "logits[1] = None"),
    ("softmax_temperature", {"temperatures": [1, 0]}, "0.01"),
    ("conv2d", {"in_channels": 0}, "at least 1"),
    ("conv2d", {"in_channels": 6, "groups": 4}, "divisible"),
    ("conv2d", {"kernel_size": 9, "height": 4, "width": 4}, "kernel"),
    ("multihead_attention", {"embed_dim": 100, "num_heads": 3}, "divisible"),
    ("cross_entropy", {"logits": [1, 2], "target": 5}, "out of range"),
    ("cross_entropy", {"label_smoothing": 1.5}, "at most 1"),
    ("kl_divergence", {"p": [0.5, 0.5], "q": [1.0]}, "same length"),
    ("iou", {"box_a": [2, 2, 0, 0]}, "x2 < x1"),
    ("lr_schedule", {"warmup_steps": 100, "total_steps": 10}, "more than"),
    ("lr_schedule", {"warmup_steps": 10, "step": 50}, "total number of steps"),
    ("topk_accuracy", {"k": 7}, "within"),
    ("pooling", {"shape": [1, 2]}, "too few"),
    ("pooling", {"shape": [10**20, 3, 7, 7]}, "at most 9223372036854775807"),  # beyond torch's int64 sizes
    ("linear", {"leading_shape": [10**20]}, "at most 9223372036854775807"),
    ("linear", {"junk": 1}, "not an argument"),
    ("softmax_temperature", ["not", "an", "object"], "object"),
])
def test_bad_arguments_are_refused_with_a_useful_message_in_both_languages(name, arguments, words):
    assert words in refusal(name, arguments).message


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(bad):
    assert "finite" in refusal("softmax_temperature", {"logits": [1.0, bad, 3.0]}).message
    assert "peak_lr" in refusal("lr_schedule", {"peak_lr": bad}).message


def test_ten_million_logits_are_refused_by_length():
    assert "too many items" in refusal("softmax_temperature", {"logits": [0.0] * 10**7}).message


def test_realistic_sizes_need_no_allocation():
    """Shapes and counts come from formulas: sizes far beyond any memory still answer."""
    assert run_tool("pooling", {"shape": [100_000, 100_000, 100, 100]}).values["output_shape"] == [100_000, 100_000, 1, 1]
    assert run_tool("embedding", {"num_embeddings": 10**9, "embedding_dim": 10**6}).values["parameters"] == 10**15
    assert run_tool("lr_schedule", {"warmup_steps": 10**6, "total_steps": 10**8, "step": 5 * 10**7}).values["lr"] > 0


def test_unknown_tool_lists_the_valid_names():
    with pytest.raises(ToolError) as caught:
        run_tool("fft", {})
    assert "conv2d" in caught.value.hint


# ---------------------------------------------------------------- run safety


@pytest.fixture
def scratch_tools():
    class Seconds(Args):
        seconds: float = arg(0.0, "seconds", "秒", "How long it sleeps.", ge=0, le=60)

    def sleep(a: Seconds) -> ToolOutput:
        time.sleep(a.seconds)
        return ToolOutput({"en": "slept 1", "zh": "睡了 1"}, {"en": "", "zh": ""}, {"slept": a.seconds}, "")

    def explode(a: Seconds) -> ToolOutput:
        return 1 / 0

    made = [registry.register(Tool("dawdles", ("sleep", "睡"), "Sleeps for a while (tests only).", Seconds, sleep,
                                    r"(?!x)x", lambda t: {})),
            registry.register(Tool("explodes", ("explode", "炸"), "Divides by zero (tests only).", Seconds, explode,
                                   r"(?!x)x", lambda t: {}))]
    yield
    for t in made:
        registry._REGISTRY.pop(t.name, None)


def test_unexpected_exceptions_become_tool_errors(scratch_tools):
    assert "ZeroDivisionError" in refusal("explodes", {}).message


def test_a_timed_out_tool_holds_nothing_the_next_tool_needs(scratch_tools):
    error = refusal("dawdles", {"seconds": 3}, timeout_s=0.05)
    assert "did not finish within 0.05 s" in error.message
    # The first run is still sleeping in its worker; these must not wait behind it.
    assert run_tool("softmax_temperature", {"logits": [1, 2, 3]}, timeout_s=2).values["rows"][0]["probabilities"][2] == 0.6652
    assert run_tool("dawdles", {"seconds": 0}, timeout_s=2).values == {"slept": 0}


def test_runs_leave_torch_process_state_alone(defaults):
    import torch

    threads, rng = torch.get_num_threads(), torch.random.get_rng_state()
    for name in NAMES:
        run_tool(name, {})
    assert torch.get_num_threads() == threads, "no torch.set_num_threads inside a tool"
    assert torch.equal(torch.random.get_rng_state(), rng), "the global RNG is neither seeded nor advanced"
    assert torch.is_grad_enabled()


def test_concurrent_runs_give_the_same_numbers():
    results: list = []
    workers = [threading.Thread(target=lambda: results.append(run_tool("lr_schedule", {"warmup_steps": 10, "total_steps": 50,
                                                                                         "step": 30}).values["lr"]))
               for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == 6 and len(set(results)) == 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_arguments_give_a_result_or_a_tool_error(data):
    name = data.draw(st.sampled_from(NAMES))
    keys = [p.name for p in get_tool(name).params] + ["junk"]
    arguments = data.draw(st.dictionaries(st.sampled_from(keys), JSON, max_size=3))
    try:
        result = run_tool(name, arguments)
    except ToolError as error:
        assert error.message and error.hint
    else:
        json.dumps(result.to_json())
