"""Tool registry: one Tool per calculator file (function + pydantic arguments + routing phrases); run_tool runs it safely."""
from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from glossarian.errors import ToolError


class Refused(ToolError):
    """A tool refused its arguments; it carries the message in both languages (the answer's language is shown)."""

    def __init__(self, en: str, zh: str, hint_en: str, hint_zh: str):
        super().__init__(en, hint_en)
        self.zh, self.hint_zh = zh, hint_zh

    def text(self, lang: str) -> str:
        return f"{self.zh}——{self.hint_zh}" if lang == "zh" else f"{self.message} — {self.hint}"


def refuse(en: str, zh: str, hint_en: str, hint_zh: str) -> Refused:
    return Refused(en, zh, hint_en, hint_zh)


# One tensor dimension: shapes are answered by formula, so any size PyTorch can hold is fine, but not more (sizes
# are signed 64-bit in torch; torch.empty(10**20) fails, so the answer's reproducing snippet could not run).
Dim = Annotated[int, Field(le=2**63 - 1)]


class Args(BaseModel):
    """Base of every tool's arguments: strict types, no unknown names, no NaN or infinity (one walk: schema and checks)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def arg(default: Any, en: str, zh: str, description: str, quiet: bool = False, **bounds: Any) -> Any:
    """A tool argument: `en`/`zh` label it in answers, `description` is for the schema, `quiet` means a missing
    value is a convention not worth an "assumed" note (stride 1, no dilation)."""
    return Field(default, title=en, description=description, json_schema_extra={"zh": zh, "quiet": quiet}, **bounds)


@dataclass
class ToolOutput:
    """What a calculator returns: the headline (the number asked for), an explanation, JSON values, a snippet, a figure."""

    headline: dict[str, str]
    summary: dict[str, str]
    values: dict
    code: str
    figure_png: bytes | None = None


@dataclass
class ToolResult:
    """One finished run: the arguments that ran, what it says in zh/en, JSON-safe values, a snippet and a figure."""

    name: str
    arguments: dict
    headline: dict[str, str]
    summary: dict[str, str]
    values: dict
    code: str
    figure_png: bytes | None
    duration_ms: float

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "arguments": self.arguments,
            "headline": self.headline,
            "summary": self.summary,
            "values": self.values,
            "code": self.code,
            "duration_ms": round(self.duration_ms, 1),
            "has_figure": self.figure_png is not None,
        }


@dataclass
class ToolCall:
    """A call proposed by the router; `defaulted` names the arguments the question did not give."""

    name: str
    arguments: dict
    defaulted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Param:
    name: str
    label_en: str
    label_zh: str
    default: Any
    quiet: bool


@dataclass(frozen=True)
class Tool:
    """Everything about one calculator. `triggers` names the topic (a regex), `hints` support it (one point each),
    `read(text)` pulls the arguments a question gives (text is NFKC-normalised and lower-cased); it may add
    "_assumed": {name: value} for demo values it picks itself, which the answer then reports as assumed, and
    "_irrelevant": [names] whose defaults do not touch the figure asked for (not worth an "assumed" note)."""

    name: str
    label: tuple[str, str]  # (en, zh) short names, for "what can you compute"
    description: str
    args: type[Args]
    run: Callable[[Any], ToolOutput]
    triggers: str
    read: Callable[[str], dict]
    hints: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def params(self) -> tuple[Param, ...]:
        out = []
        for name, info in self.args.model_fields.items():
            extra = info.json_schema_extra or {}
            out.append(Param(name, info.title or name, extra.get("zh", name), info.default, bool(extra.get("quiet"))))
        return tuple(out)

    def defaults(self) -> dict:
        return self.args().model_dump(mode="json")

    @property
    def schema(self) -> dict:
        parameters = self.args.model_json_schema()
        parameters.pop("title", None)
        for prop in parameters.get("properties", {}).values():
            for key in ("zh", "quiet", "title"):
                prop.pop(key, None)
        parameters["additionalProperties"] = False
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                  "parameters": parameters}}


_REGISTRY: dict[str, Tool] = {}
_ALIASES: dict[str, str] = {}


def register(tool_: Tool) -> Tool:
    for name in (tool_.name, *tool_.aliases):
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(f"tool name {name} is registered twice")
    _REGISTRY[tool_.name] = tool_
    _ALIASES.update({a: tool_.name for a in tool_.aliases})
    return tool_


def list_tools() -> list[Tool]:
    return list(_REGISTRY.values())


def tool_names(aliases: bool = True) -> list[str]:
    """Every name a corpus `demo:` or a caller may use; older names stay valid as aliases."""
    return list(_REGISTRY) + (list(_ALIASES) if aliases else [])


def get_tool(name: str) -> Tool:
    if isinstance(name, str):
        name = _ALIASES.get(name, name)
        if name in _REGISTRY:
            return _REGISTRY[name]
    shown = repr(name)[:40]
    raise refuse(f"Unknown tool {shown}.", f"没有名为 {shown} 的计算工具。",
                 f"Use one of: {', '.join(_REGISTRY)}.", f"可用的有：{', '.join(_REGISTRY)}。")


# ---------------------------------------------------------------- validation

_LIMITS = {
    "less_than_equal": ("must be at most {le}", "不能大于 {le}"),
    "less_than": ("must be less than {lt}", "必须小于 {lt}"),
    "greater_than_equal": ("must be at least {ge}", "不能小于 {ge}"),
    "greater_than": ("must be greater than {gt}", "必须大于 {gt}"),
    "too_long": ("has too many items (at most {max_length})", "项数太多（最多 {max_length} 项）"),
    "too_short": ("has too few items (at least {min_length})", "项数太少（至少 {min_length} 项）"),
    "finite_number": ("is not a finite number", "不是有限的数"),
    "extra_forbidden": ("is not an argument of this tool", "不是这个工具的参数"),
    "literal_error": ("must be one of {expected}", "只能取 {expected}"),
}


def _refusal(tool_: Tool, error: ValidationError) -> Refused:
    first = error.errors(include_url=False)[0]
    loc = first["loc"]
    where = (str(loc[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])) if loc else "arguments"
    if first["type"] != "extra_forbidden" and "input" in first and not isinstance(first["input"], (dict, list)):
        where += f" = {first['input']!r:.40}"
    ctx = {k: (f"{v:g}" if isinstance(v, float) else v) for k, v in (first.get("ctx") or {}).items()}
    en, zh = _LIMITS.get(first["type"], ("has the wrong type ({msg})", "类型不对（{msg}）"))
    msg = first.get("msg", "")
    fields = tool_.args.model_fields
    name = str(first["loc"][0]) if first["loc"] else ""
    label_zh = (fields[name].json_schema_extra or {}).get("zh", name) if name in fields else where
    # An unknown name is fixed by a valid one; a bad value (the usual case, shown to people in chat) by another value.
    hint_en = (f"Valid arguments: {', '.join(fields)}." if first["type"] == "extra_forbidden"
               else "Ask again with a value that fits.")
    return refuse(f"{where} {en.format(msg=msg, **ctx)}.", f"{label_zh}（{where}）{zh.format(msg=msg, **ctx)}。",
                  hint_en, "请换一个合理的取值再问一次。")


def validate(tool_: Tool, arguments: Any) -> Args:
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise refuse(f"Arguments for {tool_.name} must be an object of name -> value.",
                     f"{tool_.name} 的参数必须是“名称 -> 值”的对象。",
                     f"Pass e.g. {tool_.defaults()}.", f"例如 {tool_.defaults()}。")
    try:
        return tool_.args.model_validate(arguments)
    except ValidationError as exc:
        raise _refusal(tool_, exc) from None
    except (ValueError, TypeError) as exc:  # e.g. ints too large to convert
        raise refuse(f"Arguments for {tool_.name} are not usable: {str(exc)[:80]}.", "参数无法使用。",
                     "Pass ordinary numbers.", "请传普通的数值。") from None


# ---------------------------------------------------------------- running


# Runs and failures per tool name since the process started; /metrics reports them (web/metrics.py).
RUNS: collections.Counter = collections.Counter()
FAILURES: collections.Counter = collections.Counter()


def run_tool(name: str, arguments: dict | None = None, timeout_s: float = 10.0) -> ToolResult:
    """Validate and run a tool in a worker thread; every failure comes back as a ToolError.

    No lock and no process-global torch setting is involved: calculators that need random numbers use their own
    seeded torch.Generator, so a run that overshoots its time limit holds nothing the next run needs.
    """
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
        raise refuse(f"timeout_s = {timeout_s!r:.20} must be a positive number of seconds.", "timeout_s 必须是正数（秒）。",
                     "Use e.g. timeout_s=10.", "例如 timeout_s=10。")
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            import torch

            with torch.no_grad():  # grad mode is thread-local, so it is set inside the worker
                box["output"] = tool_.run(checked)
        except BaseException as exc:  # reported to the caller below; nothing escapes the thread
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"tool-{tool_.name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise refuse(f"{tool_.name} did not finish within {timeout_s:g} s.", f"{tool_.name} 没有在 {timeout_s:g} 秒内算完。",
                     "Try smaller inputs (shorter lists, fewer steps, smaller shapes).", "请换小一点的输入（更短的列表、更少的步数）。")
    error = box.get("error")
    if isinstance(error, ToolError):
        raise error
    if error is not None:
        raise refuse(f"{tool_.name} failed while running: {type(error).__name__}: {error}", f"{tool_.name} 运行出错：{type(error).__name__}。",
                     "This is a bug in the tool; please report it together with the arguments.", "这是工具的缺陷，请连同参数一起报告。") from error
    output: ToolOutput = box["output"]
    return ToolResult(name=tool_.name, arguments=checked.model_dump(mode="json"), headline=output.headline,
                      summary=output.summary, values=output.values, code=output.code, figure_png=output.figure_png,
                      duration_ms=(time.perf_counter() - started) * 1000)


# ---------------------------------------------------------------- helpers for calculator bodies


def r4(x: float) -> float:
    """4 decimals, but never round a small non-zero number to 0: below 0.01 keep 4 significant digits."""
    x = float(x)
    if x == 0 or abs(x) >= 0.01:
        return round(x, 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    return float(f"{x:.4g}")


def r4_all(xs: Any) -> Any:
    if isinstance(xs, (list, tuple)):
        return [r4_all(x) for x in xs]
    return r4(xs)


def num(x: float) -> str:
    """A number for prose: 1.5e-4 stays short, 0.2413 keeps 4 decimals, integers get thousands separators."""
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e6:
        mantissa, exponent = f"{x:.3e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{x:.4f}".rstrip("0").rstrip(".") if abs(x - round(x)) > 1e-12 else f"{x:.0f}"


def shape(dims: list[int] | tuple[int, ...]) -> str:
    return f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(str(d) for d in dims) + ")"


def fmt_list(xs: list, spec: str = ".4f", limit: int = 8) -> str:
    shown = [str(x) if isinstance(x, int) else format(x, spec) for x in xs]
    if len(shown) > limit:
        shown = shown[: limit - 2] + ["…", shown[-1]]
    return "[" + ", ".join(shown) + "]"


def seeded(seed: int = 0):
    """A private generator: random inputs without touching torch's global RNG."""
    import torch

    return torch.Generator().manual_seed(seed)
