"""Tests for glossarian.tools: a contract test over every tool, the glossary's numbers, and refusals of bad input."""
import contextlib
import inspect
import io
import json
import math
import subprocess
import sys
import time
import types
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glossarian.errors import ToolError
from glossarian.tools import ToolResult, get_tool, list_tools, run_tool, tool, tool_names
from glossarian.tools import registry
from glossarian.tools.registry import ToolOutput

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = tool_names()
SCHEMA_TYPES = {float: "number", int: "integer", bool: "boolean", str: "string", list: "array"}


@pytest.fixture(scope="module")
def defaults() -> dict[str, ToolResult]:
    return {name: run_tool(name, {}) for name in NAMES}


def refusal(name: str, arguments, **kwargs) -> ToolError:
    with pytest.raises(ToolError) as caught:
        run_tool(name, arguments, **kwargs)
    assert caught.value.hint, "every refusal says how to fix it"
    return caught.value


def close(a, b) -> bool:
    """Snippet values are unrounded float32; tool values are rounded to 4 decimals (4 significant digits when tiny)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4)


def run_snippet(code: str) -> dict:
    namespace: dict = {"__name__": "__snippet__"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<tool snippet>", "exec"), namespace)
    return namespace["values"]


def floats_in(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from floats_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from floats_in(v)
    elif isinstance(value, float):
        yield value


def base_type(annotation):
    """float for Annotated[float, ...], list for list[...] | None, and so on."""
    if typing.get_origin(annotation) is typing.Annotated:
        return base_type(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return base_type(args[0])
    if typing.get_origin(annotation) is typing.Literal:
        return str
    return typing.get_origin(annotation) or annotation


# ---------------------------------------------------------------- contract, for every registered tool


def test_the_seven_tools_are_registered():
    assert set(NAMES) == {
        "softmax_temperature", "global_average_pooling", "bottleneck_projection", "warmup_schedule",
        "embedding_similarity", "backbone_neck_head", "cross_entropy_temperature",
    }


@pytest.mark.parametrize("name", NAMES)
def test_schema_matches_signature(name):
    t = get_tool(name)
    schema = json.loads(json.dumps(t.schema))  # JSON-serialisable
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == name == t.name
    assert fn["description"] == t.description and len(t.description) > 20
    params = fn["parameters"]
    assert params["type"] == "object" and params["additionalProperties"] is False
    signature = inspect.signature(t.fn)
    hints = typing.get_type_hints(t.fn, include_extras=True)
    assert list(params["properties"]) == list(signature.parameters)
    assert params["required"] == [p for p, v in signature.parameters.items() if v.default is inspect.Parameter.empty]
    for pname, p in signature.parameters.items():
        prop = params["properties"][pname]
        assert prop["description"], f"{name}.{pname} needs an Args: line"
        declared = prop["type"] if isinstance(prop["type"], str) else prop["type"][0]
        assert declared == SCHEMA_TYPES[base_type(hints[pname])]
        assert prop["default"] == p.default
        if typing.get_origin(hints[pname]) is typing.Literal:
            assert prop["enum"] == list(typing.get_args(hints[pname]))


@pytest.mark.parametrize("name", NAMES)
def test_default_run_honours_the_result_contract(name, defaults):
    result = defaults[name]
    assert isinstance(result, ToolResult) and result.name == name
    assert result.arguments == get_tool(name).defaults()
    assert set(result.summary) == {"zh", "en"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.summary["zh"])
    assert result.summary["en"].isascii() or "→" in result.summary["en"] or "×" in result.summary["en"]
    assert result.duration_ms > 0
    payload = json.loads(json.dumps(result.to_json()))
    assert payload["has_figure"] == (result.figure_png is not None)
    assert "figure_png" not in payload
    assert payload["values"] == result.values
    for x in floats_in(result.values):
        assert x == round(x, 4) or abs(x) < 0.01, f"{x} is not rounded"


@pytest.mark.parametrize("name", NAMES)
def test_figure_is_a_valid_png(name, defaults):
    from PIL import Image

    png = defaults[name].figure_png
    if png is None:
        pytest.skip(f"{name} has no figure")
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.size[0] > 200 and image.size[1] > 150


SNIPPET_CASES = [(name, {}) for name in NAMES] + [
    ("softmax_temperature", {"logits": [-1, 0, 4, 2.5], "temperatures": [0.1, 10]}),
    ("global_average_pooling", {"shape": [64, 5, 3]}),
    ("bottleneck_projection", {"in_dim": 64, "out_dim": 128, "kind": "conv1x1", "bias": False, "spatial": 3}),
    ("warmup_schedule", {"base_lr": 3e-4, "warmup_steps": 10, "total_steps": 40, "after": "linear", "start_lr": 1e-5, "unit": "step"}),
    ("warmup_schedule", {"warmup_steps": 0, "after": "constant"}),
    ("embedding_similarity", {"vectors": [[1, 0], [0, 1], [1, 1]], "token_ids": [0, 9]}),
    ("backbone_neck_head", {"num_classes": 3, "freeze_backbone": False}),
    ("cross_entropy_temperature", {"logits": [3, 1, 0.2], "target": 1, "temperatures": [4, 0.5, 1]}),
]


@pytest.mark.parametrize("name,arguments", SNIPPET_CASES)
def test_code_snippet_reproduces_values(name, arguments, defaults):
    result = defaults[name] if not arguments else run_tool(name, arguments)
    assert "import torch" in result.code
    assert close(run_snippet(result.code), result.values)


# ---------------------------------------------------------------- the glossary's numbers


def test_softmax_reproduces_the_glossary_numbers(defaults):
    rows = defaults["softmax_temperature"].values["rows"]
    assert [r["temperature"] for r in rows] == [1.0, 2.0, 0.5]
    assert [r["probabilities"] for r in rows] == [
        [0.09, 0.2447, 0.6652],
        [0.1863, 0.3072, 0.5065],
        [0.0159, 0.1173, 0.8668],
    ]
    en = defaults["softmax_temperature"].summary["en"]
    assert "0.0900" in en and "flattens" in en and "sharpens" in en
    assert "越高" in defaults["softmax_temperature"].summary["zh"]


def test_cross_entropy_direction_correct_vs_misclassified():
    right = run_tool("cross_entropy_temperature", {"logits": [1, 2, 3], "target": 2, "temperatures": [0.5, 1, 2, 4]})
    wrong = run_tool("cross_entropy_temperature", {"logits": [1, 2, 3], "target": 0, "temperatures": [0.5, 1, 2, 4]})
    right_losses = [r["loss"] for r in right.values["rows"]]
    wrong_losses = [r["loss"] for r in wrong.values["rows"]]
    assert right_losses == sorted(right_losses) and right_losses[0] < right_losses[-1]
    assert wrong_losses == sorted(wrong_losses, reverse=True) and wrong_losses[0] > wrong_losses[-1]
    assert right.values["target_is_argmax"] is True and wrong.values["target_is_argmax"] is False
    assert "classified correctly" in right.summary["en"] and "raises the loss" in right.summary["en"]
    assert "misclassified" in wrong.summary["en"] and "lowers the loss" in wrong.summary["en"]
    assert "分类正确" in right.summary["zh"] and "分类错误" in wrong.summary["zh"]


def test_cross_entropy_reports_a_non_monotone_loss_honestly():
    # A close runner-up: p(target) first rises, then falls back towards 1/3 as T grows.
    result = run_tool("cross_entropy_temperature", {"logits": [0, 5, 4.9], "target": 2, "temperatures": [0.05, 1, 50]})
    losses = [r["loss"] for r in result.values["rows"]]
    assert losses[1] < losses[0] and losses[1] < losses[2]
    assert "does not move one way" in result.summary["en"]


def test_gap_output_shapes(defaults):
    v = defaults["global_average_pooling"].values
    assert (v["input_shape"], v["output_shape"], v["flattened_shape"]) == ([2, 64, 7, 7], [2, 64, 1, 1], [2, 64])
    assert v["parameters"] == 0
    assert v["example_means"] == [[1.5, 5.5]]
    three = run_tool("global_average_pooling", {"shape": [32, 3, 5]}).values
    assert (three["output_shape"], three["flattened_shape"]) == ([32, 1, 1], [32])


@pytest.mark.parametrize("kind", ["linear", "conv1x1"])
@pytest.mark.parametrize("bias", [True, False])
def test_bottleneck_parameter_counts(kind, bias):
    v = run_tool("bottleneck_projection", {"in_dim": 1024, "out_dim": 256, "kind": kind, "bias": bias}).values
    assert v["parameters"] == 1024 * 256 + (256 if bias else 0)
    assert v["compression_ratio"] == 4.0
    assert v["output_shape"] == ([1, 256] if kind == "linear" else [1, 256, 7, 7])


def test_warmup_values_at_the_boundaries(defaults):
    lrs = defaults["warmup_schedule"].values["lrs"]
    assert len(lrs) == 30
    assert lrs[:6] == [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]  # peak exactly when warm-up ends
    assert lrs[-1] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 24 / 25)), rel=1e-3)
    assert all(a >= b for a, b in zip(lrs[5:], lrs[6:]))
    constant = run_tool("warmup_schedule", {"warmup_steps": 3, "total_steps": 8, "after": "constant", "start_lr": 0.01}).values["lrs"]
    assert constant == [0.01, 0.04, 0.07, 0.1, 0.1, 0.1, 0.1, 0.1]
    linear = run_tool("warmup_schedule", {"base_lr": 1.0, "warmup_steps": 0, "total_steps": 4, "after": "linear"}).values["lrs"]
    assert linear == [1.0, 0.75, 0.5, 0.25]
    only_warmup = run_tool("warmup_schedule", {"warmup_steps": 4, "total_steps": 4}).values["lrs"]
    assert only_warmup == [0.0, 0.025, 0.05, 0.075]
    small = run_tool("warmup_schedule", {"base_lr": 3e-4, "warmup_steps": 3, "total_steps": 3}).values["lrs"]
    assert small == [0.0, 0.0001, 0.0002]  # small learning rates are not rounded away


def test_backbone_counts_both_settings_and_highlights_the_chosen_one(defaults):
    frozen = defaults["backbone_neck_head"]
    unfrozen = run_tool("backbone_neck_head", {"freeze_backbone": False})
    p = frozen.values["parameters"]
    assert frozen.values["total_parameters"] == sum(p.values()) == frozen.values["trainable_unfrozen"]
    assert frozen.values["trainable_frozen"] == p["neck"] + p["head"]
    assert unfrozen.values == frozen.values  # both settings are always reported
    assert frozen.summary["en"].startswith("With the backbone frozen")
    assert unfrozen.summary["en"].startswith("With the backbone unfrozen")
    hundred = run_tool("backbone_neck_head", {"num_classes": 100}).values
    assert hundred["output_shape"] == [1, 100] and hundred["parameters"]["head"] == 64 * 100 + 100


def test_embedding_similarity_of_given_vectors():
    v = run_tool("embedding_similarity", {"vectors": [[1, 0], [0, 1], [1, 1]], "token_ids": [4, 4]}).values
    assert v["similarity_of"] == "vectors"
    assert v["similarity"] == [[1.0, 0.0, 0.7071], [0.0, 1.0, 0.7071], [0.7071, 0.7071, 1.0]]
    assert len(v["embedding_rows"]) == 2 and v["embedding_rows"][0] == v["embedding_rows"][1]


def test_runs_are_deterministic_and_arguments_normalised():
    a = run_tool("embedding_similarity", {"num_embeddings": 50.0, "embedding_dim": 8})
    b = run_tool("embedding_similarity", {"num_embeddings": 50, "embedding_dim": 8})
    assert a.values == b.values
    assert a.arguments == {"vectors": None, "num_embeddings": 50, "embedding_dim": 8, "token_ids": [1, 2, 3]}
    assert isinstance(a.arguments["num_embeddings"], int)
    softmax = run_tool("softmax_temperature", {"logits": (1, 2, 3)})
    assert softmax.arguments == {"logits": [1.0, 2.0, 3.0], "temperatures": [1.0, 2.0, 0.5]}
    softmax.arguments["temperatures"].append(99.0)  # a caller's mutation must not leak into the defaults
    assert run_tool("softmax_temperature", {}).arguments["temperatures"] == [1.0, 2.0, 0.5]


def test_importing_tools_and_routing_does_not_import_torch_or_matplotlib():
    code = (
        "import sys, glossarian.tools as t; t.route('算一下 [1,2,3] 在温度 0.5 下的 softmax'); t.list_tools();"
        "print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------- refusals


def test_huge_shape_is_refused_before_allocating():
    error = refusal("global_average_pooling", {"shape": [100_000, 100_000, 100, 100]})
    assert "100,000,000,000,000 elements" in error.message and "1,000,000" in error.message


def test_ten_million_logits_are_refused_by_length():
    error = refusal("softmax_temperature", {"logits": [0.0] * 10**7})
    assert "10,000,000 items" in error.message and "at most 64" in error.message


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(bad):
    error = refusal("softmax_temperature", {"logits": [1.0, bad, 3.0]})
    assert "logits[1]" in error.message and "not a finite number" in error.message
    error = refusal("warmup_schedule", {"base_lr": bad})
    assert "base_lr" in error.message


@pytest.mark.parametrize("temperature", [0, -1, -0.5, 0.0])
@pytest.mark.parametrize("name", ["softmax_temperature", "cross_entropy_temperature"])
def test_zero_and_negative_temperatures_are_refused(name, temperature):
    error = refusal(name, {"temperatures": [1, temperature]})
    assert f"temperatures[1] = {temperature!r}" in error.message or f"temperatures[1] = {float(temperature)!r}" in error.message
    assert "between 0.01 and 100" in error.message


@pytest.mark.parametrize(
    "name,arguments,expected",
    [
        ("softmax_temperature", {"logits": "1,2,3"}, "logits = '1,2,3' is a string, expected a list"),
        ("softmax_temperature", {"logits": [1, "2", 3]}, "logits[1] = '2' is a string, expected a number"),
        ("softmax_temperature", {"logits": [[1, 2], [3]]}, "logits[0] = [1, 2] is a list, expected a number"),
        ("softmax_temperature", {"logits": [1, {"a": 1}]}, "logits[1] = {'a': 1} is an object, expected a number"),
        ("softmax_temperature", {"logits": []}, "logits has 0 items; at least 1"),
        ("softmax_temperature", {"temperatures": None}, "temperatures = None is null, expected a list"),
        ("global_average_pooling", {"shape": [2, 64.5, 7, 7]}, "shape[1] = 64.5 is not a whole number"),
        ("global_average_pooling", {"shape": [2, 0, 7, 7]}, "shape[1] = 0 is out of range: it must be between 1 and 1000000"),
        ("global_average_pooling", {"shape": [1, 2, 3, 4, 5]}, "shape has 5 items; at most 4"),
        ("global_average_pooling", {"shape": [7, 7]}, "shape has 2 items; at least 3"),
        ("bottleneck_projection", {"in_dim": True}, "in_dim = True is a boolean, expected an integer"),
        ("bottleneck_projection", {"kind": "conv3x3"}, "kind = 'conv3x3' is not a valid choice"),
        ("bottleneck_projection", {"in_dim": 65_536, "out_dim": 65_536}, "4,294,967,296 weights"),
        ("bottleneck_projection", {"kind": "conv1x1", "in_dim": 4096, "spatial": 512}, "elements; at most 1,000,000"),
        ("backbone_neck_head", {"freeze_backbone": "yes"}, "freeze_backbone = 'yes' is a string, expected true or false"),
        ("backbone_neck_head", {"num_classes": 10**30}, "is out of range"),
        ("warmup_schedule", {"total_steps": 1_000_000}, "total_steps = 1000000 is out of range: it must be between 1 and 10000"),
        ("warmup_schedule", {"warmup_steps": 40, "total_steps": 30}, "warmup_steps = 40 is more than total_steps = 30"),
        ("warmup_schedule", {"start_lr": 0.5, "base_lr": 0.1}, "start_lr = 0.5 is above base_lr = 0.1"),
        ("warmup_schedule", {"after": 3}, "after = 3 is an integer, expected a string"),
        ("embedding_similarity", {"token_ids": [1, 10]}, "token id 10 is out of range for num_embeddings = 10"),
        ("embedding_similarity", {"vectors": [[1, 2], [3]]}, "vectors have different lengths [1, 2]"),
        ("embedding_similarity", {"num_embeddings": 100_000, "embedding_dim": 1024}, "at most 10,000,000 are allowed"),
        ("embedding_similarity", {"embedding_dim": 4096}, "embedding_dim = 4096 is out of range"),
        ("cross_entropy_temperature", {"target": 3}, "target = 3 is out of range for 3 logits"),
        ("cross_entropy_temperature", {"logits": [1.0]}, "logits has 1 items; at least 2"),
    ],
)
def test_bad_arguments_are_refused_with_a_useful_message(name, arguments, expected):
    assert expected in refusal(name, arguments).message


def test_unknown_tool_lists_the_valid_names():
    error = refusal("softmax", {})
    assert "Unknown tool 'softmax'" in error.message
    assert all(name in error.hint for name in NAMES)
    assert "Unknown tool" in refusal(None, {}).message


def test_unknown_argument_lists_the_valid_ones():
    error = refusal("softmax_temperature", {"logits": [1, 2], "temperature": 2})
    assert "Unknown argument 'temperature'" in error.message and "logits, temperatures" in error.hint


def test_arguments_must_be_an_object():
    assert "must be an object" in refusal("softmax_temperature", [1, 2, 3]).message


def test_bad_timeout_is_refused():
    assert "timeout_s" in refusal("softmax_temperature", {}, timeout_s=0).message


@pytest.fixture
def scratch_tools():
    """Real tools registered for one test and removed afterwards, to exercise failure and time limits."""

    @tool
    def explodes(x: int = 1) -> ToolOutput:
        """A tool with a bug in it.

        Args:
            x: Anything.
        """
        return ToolOutput({"en": "", "zh": ""}, {"v": 1 / (x - 1)}, "")

    @tool
    def dawdles(seconds: float = 0.5) -> ToolOutput:
        """A tool that takes too long.

        Args:
            seconds: How long it sleeps.
        """
        time.sleep(seconds)
        return ToolOutput({"en": "", "zh": ""}, {}, "")

    yield
    for name in ("explodes", "dawdles"):
        registry._REGISTRY.pop(name, None)


def test_unexpected_exceptions_become_tool_errors(scratch_tools):
    error = refusal("explodes", {})
    assert "explodes failed while running: ZeroDivisionError" in error.message


def test_time_limit_gives_up_with_a_tool_error(scratch_tools):
    error = refusal("dawdles", {"seconds": 0.5}, timeout_s=0.05)
    assert "did not finish within 0.05 s" in error.message


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
