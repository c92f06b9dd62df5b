"""Tool registry: `@tool` turns a typed function into a Tool with a derived JSON schema; run_tool validates and runs it."""
import collections
import copy
import inspect
import math
import reprlib
import threading
import time
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal, Union

from glossarian.errors import ToolError


@dataclass(frozen=True)
class Limits:
    """Bounds attached with `Annotated[...]`: on numbers (ge/gt/le) or on list lengths (min_items/max_items).

    They are enforced by run_tool and also written into the schema, so an LLM sees them too.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    min_items: int | None = None
    max_items: int | None = None


@dataclass
class ToolOutput:
    """What a tool function returns; run_tool adds the name, arguments and timing."""

    summary: dict[str, str]
    values: dict
    code: str
    figure_png: bytes | None = None


@dataclass
class ToolResult:
    """One finished run: the arguments that actually ran, a zh/en summary, JSON-safe values, a snippet, a figure."""

    name: str
    arguments: dict
    summary: dict[str, str]
    values: dict
    code: str
    figure_png: bytes | None
    duration_ms: float

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "arguments": self.arguments,
            "summary": self.summary,
            "values": self.values,
            "code": self.code,
            "duration_ms": round(self.duration_ms, 1),
            "has_figure": self.figure_png is not None,
        }


@dataclass
class ToolCall:
    """A tool call proposed by the router; `defaulted` names the arguments it filled from the defaults."""

    name: str
    arguments: dict
    defaulted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any
    default: Any  # inspect.Parameter.empty when required
    description: str

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict
    fn: Callable[..., ToolOutput]
    params: tuple[Param, ...]

    def defaults(self) -> dict:
        """A fresh copy each time, so callers may change the lists they get."""
        return {p.name: copy.deepcopy(p.default) for p in self.params if not p.required}


_REGISTRY: dict[str, Tool] = {}


def _short(value: Any) -> str:
    """repr() for messages, cut short so a 10-million-item argument cannot flood an error."""
    shortener = reprlib.Repr()  # keyword arguments to Repr() only exist from Python 3.12
    shortener.maxstring, shortener.maxlist, shortener.maxother, shortener.maxdict = 40, 6, 40, 4
    return shortener.repr(value)


# ---------------------------------------------------------------- docstrings and schema


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """First paragraph becomes the description; an `Args:` section gives per-parameter text."""
    lines = inspect.cleandoc(doc or "").splitlines()
    paragraph: list[str] = []
    for line in lines:
        if not line.strip():
            break
        paragraph.append(line.strip())
    described: dict[str, str] = {}
    in_args, current = False, None
    for line in lines:
        stripped = line.strip()
        if stripped == "Args:":
            in_args = True
            continue
        if not in_args:
            continue
        if stripped and not line.startswith(" "):  # the next section starts at column 0
            break
        if line.startswith("    ") and not line.startswith("        ") and ":" in stripped:
            current, text = stripped.split(":", 1)
            current = current.split("(")[0].strip()
            described[current] = text.strip()
        elif current and stripped:
            described[current] += " " + stripped
    return " ".join(paragraph), described


def _unwrap(annotation: Any) -> tuple[Any, Limits | None]:
    if typing.get_origin(annotation) is Annotated:
        base, *extra = typing.get_args(annotation)
        limits = next((e for e in extra if isinstance(e, Limits)), None)
        return base, limits
    return annotation, None


def _optional_inner(annotation: Any) -> Any | None:
    """For `X | None` return X, else None."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0]
    return None


def _json_schema(annotation: Any) -> dict:
    base, limits = _unwrap(annotation)
    inner = _optional_inner(base)
    if inner is not None:
        schema = _json_schema(inner)
        schema["type"] = [schema["type"], "null"]
        return schema
    origin = typing.get_origin(base)
    if base is bool:
        schema: dict = {"type": "boolean"}
    elif base is int:
        schema = {"type": "integer"}
    elif base is float:
        schema = {"type": "number"}
    elif base is str:
        schema = {"type": "string"}
    elif origin is Literal:
        schema = {"type": "string", "enum": list(typing.get_args(base))}
    elif origin is list:
        (item,) = typing.get_args(base)
        schema = {"type": "array", "items": _json_schema(item)}
    else:
        raise TypeError(f"unsupported tool parameter type: {annotation!r}")
    if limits:
        if schema["type"] == "array":
            if limits.min_items is not None:
                schema["minItems"] = limits.min_items
            if limits.max_items is not None:
                schema["maxItems"] = limits.max_items
        else:
            if limits.ge is not None:
                schema["minimum"] = limits.ge
            if limits.gt is not None:
                schema["exclusiveMinimum"] = limits.gt
            if limits.le is not None:
                schema["maximum"] = limits.le
    return schema


def tool(fn: Callable[..., ToolOutput]) -> Callable[..., ToolOutput]:
    """Register a plain typed function as a tool; its schema comes from the signature and docstring."""
    description, described = _parse_docstring(fn.__doc__ or "")
    if not description:
        raise TypeError(f"tool {fn.__name__} needs a docstring: its first paragraph is the description")
    hints = typing.get_type_hints(fn, include_extras=True)
    params: list[Param] = []
    properties: dict[str, dict] = {}
    required: list[str] = []
    for p in inspect.signature(fn).parameters.values():
        if p.name not in hints:
            raise TypeError(f"tool {fn.__name__}: parameter {p.name} needs a type hint")
        if p.name not in described:
            raise TypeError(f"tool {fn.__name__}: parameter {p.name} needs a line in the docstring's Args: section")
        param = Param(p.name, hints[p.name], p.default, described[p.name])
        params.append(param)
        prop = _json_schema(param.annotation)
        prop["description"] = param.description
        if param.required:
            required.append(p.name)
        else:
            prop["default"] = param.default
        properties[p.name] = prop
    schema = {
        "type": "function",
        "function": {
            "name": fn.__name__,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"tool {fn.__name__} is registered twice")
    _REGISTRY[fn.__name__] = Tool(fn.__name__, description, schema, fn, tuple(params))
    return fn


def list_tools() -> list["Tool"]:
    return list(_REGISTRY.values())


def tool_names() -> list[str]:
    return list(_REGISTRY)


def get_tool(name: str) -> Tool:
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    raise ToolError(
        f"Unknown tool {_short(name)}.",
        f"Use one of: {', '.join(_REGISTRY)}.",
    )


# ---------------------------------------------------------------- validation


def _range_text(limits: Limits) -> str:
    low = f"> {_num(limits.gt)}" if limits.gt is not None else f"≥ {_num(limits.ge)}" if limits.ge is not None else ""
    high = f"≤ {_num(limits.le)}" if limits.le is not None else ""
    if limits.ge is not None and high:
        return f"between {_num(limits.ge)} and {_num(limits.le)}"
    return " and ".join(t for t in (low, high) if t)


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _refuse(where: str, value: Any, problem: str, hint: str) -> ToolError:
    return ToolError(f"{where} = {_short(value)} {problem}.", hint)


def _check(value: Any, annotation: Any, where: str, example: Any) -> Any:
    """Return the normalised value or raise ToolError naming `where` (e.g. "logits[3]")."""
    base, limits = _unwrap(annotation)
    inner = _optional_inner(base)
    if inner is not None:
        return None if value is None else _check(value, inner, where, example)
    origin = typing.get_origin(base)
    hint = f"Example of a valid value: {_short(example)}." if example is not inspect.Parameter.empty else ""
    if base is bool:
        if not isinstance(value, bool):
            raise _refuse(where, value, f"is {_kind(value)}, expected true or false", hint or "Pass true or false.")
        return value
    if base in (int, float):
        expected = "an integer" if base is int else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _refuse(where, value, f"is {_kind(value)}, expected {expected}", hint or f"Pass {expected}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse(where, value, "is not a finite number", "NaN and infinity cannot be computed with; pass an ordinary number.")
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise _refuse(where, value, "is not a whole number", hint or "Pass an integer.")
            value = int(value)
        elif abs(value) > 1e300:  # also keeps float() from overflowing on huge Python ints
            raise _refuse(where, value, "is far too large", hint or "Pass an ordinary number.")
        else:
            value = float(value)
        if limits and not (
            (limits.ge is None or value >= limits.ge)
            and (limits.gt is None or value > limits.gt)
            and (limits.le is None or value <= limits.le)
        ):
            eg = f", e.g. {_short(example)}" if example is not inspect.Parameter.empty else ""
            raise _refuse(where, value, f"is out of range: it must be {_range_text(limits)}", f"Use a value {_range_text(limits)}{eg}.")
        return value
    if base is str or origin is Literal:
        choices = typing.get_args(base) if origin is Literal else ()
        if not isinstance(value, str):
            raise _refuse(where, value, f"is {_kind(value)}, expected a string", f"Use one of: {', '.join(choices)}." if choices else hint)
        if choices and value not in choices:
            raise _refuse(where, value, "is not a valid choice", f"Use one of: {', '.join(choices)}.")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise _refuse(where, value, f"is {_kind(value)}, expected a list", hint or "Pass a list.")
        # Lengths are checked before any element so a 10-million-item list is refused at once.
        if limits and limits.max_items is not None and len(value) > limits.max_items:
            raise ToolError(
                f"{where} has {len(value):,} items; at most {limits.max_items} are allowed.",
                f"Pass a shorter list (1 to {limits.max_items} items).",
            )
        if limits and limits.min_items is not None and len(value) < limits.min_items:
            raise ToolError(
                f"{where} has {len(value)} items; at least {limits.min_items} are needed.",
                hint or f"Pass at least {limits.min_items} items.",
            )
        (item,) = typing.get_args(base)
        item_example = example[0] if isinstance(example, list) and example else inspect.Parameter.empty
        return [_check(v, item, f"{where}[{i}]", item_example) for i, v in enumerate(value)]
    raise TypeError(f"unsupported annotation {annotation!r}")  # a registration bug, not user input


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", tuple: "a list", dict: "an object"}
    return names.get(type(value), f"a {type(value).__name__}")


def validate(tool_: Tool, arguments: Any) -> dict:
    """Check types, names and bounds; return the arguments with defaults filled and types normalised."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolError(
            f"Arguments for {tool_.name} must be an object of name -> value, not {_kind(arguments)}.",
            f"Pass e.g. {tool_.defaults()}.",
        )
    known = {p.name for p in tool_.params}
    unknown = [k for k in arguments if k not in known]
    if unknown:
        raise ToolError(
            f"Unknown argument {_short(unknown[0])} for {tool_.name}.",
            f"Valid arguments: {', '.join(p.name for p in tool_.params)}.",
        )
    checked = {}
    for p in tool_.params:
        if p.name not in arguments:
            if p.required:
                raise ToolError(f"Missing argument {p.name!r} for {tool_.name}.", f"{p.name}: {p.description}")
            checked[p.name] = copy.deepcopy(p.default)  # callers may mutate results; defaults must survive
            continue
        checked[p.name] = _check(arguments[p.name], p.annotation, p.name, p.default)
    return checked


# ---------------------------------------------------------------- running

_torch_ready = False
# Seeding is process-global, so runs take turns: the same arguments always give the same numbers.
_run_lock = threading.Lock()


def _run_seeded(fn: Callable[..., ToolOutput], arguments: dict) -> ToolOutput:
    global _torch_ready
    import torch

    with _run_lock:
        if not _torch_ready:
            torch.set_num_threads(1)  # predictable latency on small shared CPUs
            _torch_ready = True
        torch.manual_seed(0)
        with torch.no_grad():  # grad mode is thread-local, so it is set inside the worker
            return fn(**arguments)


# Runs and failures per tool name since the process started; /metrics reports them (web/metrics.py).
RUNS: collections.Counter = collections.Counter()
FAILURES: collections.Counter = collections.Counter()


def run_tool(name: str, arguments: dict | None = None, timeout_s: float = 10.0) -> ToolResult:
    """Validate and run a tool in a worker thread; every failure comes back as a ToolError."""
    RUNS[name] += 1
    try:
        return _run_tool(name, arguments, timeout_s)
    except ToolError:
        FAILURES[name] += 1
        raise


def _run_tool(name: str, arguments: dict | None, timeout_s: float) -> ToolResult:
    started = time.perf_counter()
    tool_ = get_tool(name)
    checked = validate(tool_, arguments)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s < math.inf:
        raise ToolError(f"timeout_s = {_short(timeout_s)} must be a positive number of seconds.", "Use e.g. timeout_s=10.")

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["output"] = _run_seeded(tool_.fn, checked)
        except BaseException as exc:  # reported to the caller below; nothing escapes the thread
            box["error"] = exc

    # A daemon thread: if a run overshoots the limit we stop waiting, and it cannot block exit.
    worker = threading.Thread(target=work, name=f"tool-{name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise ToolError(
            f"{name} did not finish within {timeout_s:g} s.",
            "Try smaller inputs (shorter lists, fewer steps, smaller shapes).",
        )
    error = box.get("error")
    if isinstance(error, ToolError):
        raise error
    if error is not None:
        raise ToolError(
            f"{name} failed while running: {type(error).__name__}: {error}",
            "This is a bug in the tool; please report it together with the arguments.",
        ) from error
    output: ToolOutput = box["output"]
    return ToolResult(
        name=name,
        arguments=checked,
        summary=output.summary,
        values=output.values,
        code=output.code,
        figure_png=output.figure_png,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


# ---------------------------------------------------------------- helpers for tool bodies


def require(condition: bool, message: str, hint: str) -> None:
    """A refusal a tool raises before doing any torch work (cross-argument checks)."""
    if not condition:
        raise ToolError(message, hint)


def r4(x: float) -> float:
    """4 decimals, but never round a small non-zero number to 0: below 0.01 keep 4 significant digits."""
    x = float(x)
    if x == 0 or abs(x) >= 0.01:
        return round(x, 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    return float(f"{x:.4g}")


def r4_all(xs: Any) -> Any:
    """r4 applied through nested lists (e.g. tensor.tolist())."""
    if isinstance(xs, (list, tuple)):
        return [r4_all(x) for x in xs]
    return r4(xs)


def fmt_list(xs: list, spec: str = "g", limit: int = 8) -> str:
    """Numbers for a summary sentence: "[1, 2, 3]"; long lists are cut as "[1, 2, 3, 4, 5, 6, …, 64]"."""
    shown = [str(x) if isinstance(x, int) else format(x, spec) for x in xs]  # 1000000, not 1e+06
    if len(shown) > limit:
        shown = shown[: limit - 2] + ["…", shown[-1]]
    return "[" + ", ".join(shown) + "]"
