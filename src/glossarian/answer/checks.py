"""Checks on a finished LLM answer before the reader keeps it: language, citations, subject, template leaks, JSON, numbers.

Pure functions over text, run by `guard.py` on the model's finished text: `check_answer(...)` returns the names of the failed checks ([] = the answer may stay).
What they catch was seen against a real OpenAI-compatible server with a small chat model (issue 18): English
answers to Chinese questions, answers that never name the term asked about, chat-template tokens and tool calls
printed as JSON, and numbers the model made up next to a calculator's result.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from glossarian.answer.filters import CITATION as CITED
from glossarian.names import name_key

LANGUAGE, CITATION, SUBJECT, TEMPLATE, JSON, NUMBERS = "language", "citation", "subject", "template", "json", "numbers"
CHECKS = (LANGUAGE, CITATION, SUBJECT, TEMPLATE, JSON, NUMBERS)

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
EN_WORD = re.compile(r"[A-Za-z]{2,}")
CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)
# Special tokens of the common chat templates (ChatML, Llama 2/3, Gemma, Mistral, Phi, DeepSeek): text that
# only shows when a server applies the wrong template or the model imitates one.
TEMPLATE_TOKEN = re.compile(r"<\|[A-Za-z_]+\|>|<｜[^｜>]{1,40}｜>|\[/?INST\]|<</?SYS>>|</?s>|<(?:start|end)_of_turn>")
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e-?\d+)?(?![\w.])|(?<![\w.])-?\d+e-?\d+(?![\w.])", re.I)


@dataclass
class Expectations:
    """What a good answer to this question looks like.

    `language`: "zh" or "en". `sources`: how many numbered entries the model was given. `in_scope`: the glossary
    has entries for the question, so the answer should cite one. `subjects`: for each term the question is about,
    the names that count as naming it (term, translation, aliases); each must be named at least once.
    `numbers`: the values a calculator produced (and the question gave); any decimal the answer states must be one.
    """

    language: str
    sources: int = 0
    in_scope: bool = True
    subjects: list[tuple[str, ...]] = field(default_factory=list)
    numbers: list[float] | None = None


def outside_code(text: str) -> str:
    """The text without code blocks and inline code, where brackets, JSON and tokens are legitimate."""
    return CODE.sub(" ", text)


def language_of(text: str) -> str | None:
    """'zh' or 'en' by which script carries the prose (one Chinese character against one English word), or None
    when there is no prose. Chinese answers keep English terms ("把 logits 变成概率"), so a simple majority."""
    prose = CITED.sub(" ", outside_code(text))
    cjk, words = len(CJK.findall(prose)), len(EN_WORD.findall(prose))
    if not cjk and not words:
        return None
    return "zh" if cjk >= words else "en"


def cited(text: str) -> list[int]:
    return [int(n) for m in CITED.finditer(outside_code(text)) for n in re.findall(r"\d+", m.group(2))]


def names_subject(text: str, names: tuple[str, ...]) -> bool:
    """Whether any of `names` appears, ignoring case and separators ("Batch-Norm" names "batchnorm")."""
    key = name_key(text)
    return any(k and k in key for k in (name_key(n) for n in names))


def has_template_token(text: str) -> bool:
    return bool(TEMPLATE_TOKEN.search(outside_code(text)))


def has_raw_json(text: str) -> bool:
    """A JSON object (or a list of objects) in the prose: usually a tool call the model printed instead of making."""
    prose = outside_code(text)
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", prose):
        try:
            value, _ = decoder.raw_decode(prose, match.start())
        except ValueError:
            continue
        if isinstance(value, dict) and value:
            return True
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            return True
    return False


def _shown_precision(literal: str) -> float:
    mantissa = literal.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 0.5 * 10 ** -decimals


def unknown_numbers(text: str, known: list[float]) -> list[str]:
    """Decimals in the prose that match none of `known` at the precision they are written with (0.87 matches
    0.8668; 86.68% too). Integers are left alone: they count things ("2 sources", "3 channels") more often than
    they compute."""
    known = [*known, *(k * 100 for k in known)]
    found = []
    for literal in NUMBER.findall(outside_code(text)):
        value = float(literal)
        tolerance = max(_shown_precision(literal), 1e-9 * abs(value))
        if not any(abs(value - k) <= tolerance for k in known):
            found.append(literal)
    return found


def numbers_in(value) -> list[float]:
    """Every number inside a JSON-like value (a tool's arguments and results)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in numbers_in(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in numbers_in(v)]
    if isinstance(value, str):
        return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", value, re.I)]
    return []


def check_answer(text: str, expect: Expectations) -> list[str]:
    """The names of the checks `text` fails, in CHECKS order; [] when it may reach the reader."""
    failed = []
    if language_of(text) not in (None, expect.language):
        failed.append(LANGUAGE)
    if expect.in_scope and expect.sources and not any(1 <= n <= expect.sources for n in cited(text)):
        failed.append(CITATION)
    if any(not names_subject(text, names) for names in expect.subjects if names):
        failed.append(SUBJECT)
    if has_template_token(text):
        failed.append(TEMPLATE)
    if has_raw_json(text):
        failed.append(JSON)
    if expect.numbers is not None and unknown_numbers(text, expect.numbers):
        failed.append(NUMBERS)
    return failed
