"""Bounds on the conversation history a caller sends with a question, and the recent part the answer reads.

A history turn is free text from the caller, and follow-up resolution scans it for term names: unbounded, one
990,000-character turn cost about 5 s of CPU per request (security probe 2026-11, finding 5). So a request
may send at most `history_max_turns` turns of `history_max_turn_chars` characters each and
`history_max_chars` in all (Settings), and the answer engine only ever sees the last READ_TURNS turns, each
clipped to READ_CHARS characters: the work per question is bounded whatever was sent.
"""
from __future__ import annotations

from dataclasses import replace

from glossarian.errors import InputError

# What the answer engine reads. prompts.py sends the LLM the last 6 turns clipped to 600 characters, and
# follow-up resolution reads the last 6 turns; keeping a little more than both changes no answer.
READ_TURNS = 12
READ_CHARS = 1000


class HistoryTooLarge(InputError):
    """The history is over a bound: too many turns (HTTP 422) or too many characters (HTTP 413)."""

    def __init__(self, message: str, hint: str, status: int):
        super().__init__(message, hint)
        self.status = status


def check_history(history, settings) -> list:
    """The turns worth reading (the last READ_TURNS, each clipped), or HistoryTooLarge when a bound is broken.

    Turns of any dataclass with `role` and `content` are kept as they are apart from the clipping, so fields a
    turn carries (sources, intent) survive; empty or malformed turns are dropped.
    """
    turns = [t for t in (history or []) if isinstance(getattr(t, "content", None), str) and t.content]
    if len(turns) > settings.history_max_turns:
        raise HistoryTooLarge(f"history has {len(turns)} turns; at most {settings.history_max_turns} are accepted.",
                              "Send only the last few turns of the conversation.", 422)
    longest = max((len(t.content) for t in turns), default=0)
    if longest > settings.history_max_turn_chars:
        raise HistoryTooLarge(f"A history turn is {longest} characters long; the limit is "
                              f"{settings.history_max_turn_chars} per turn.",
                              "Send shorter turns (the start of each is enough for follow-ups).", 413)
    total = sum(len(t.content) for t in turns)
    if total > settings.history_max_chars:
        raise HistoryTooLarge(f"The history has {total} characters; the limit is {settings.history_max_chars}.",
                              "Send only the last few turns of the conversation.", 413)
    return [t if len(t.content) <= READ_CHARS else replace(t, content=t.content[:READ_CHARS])
            for t in turns[-READ_TURNS:]]


def fit_history(turns: list[dict], settings) -> list[dict]:
    """The chat's own conversation cut to fit the bounds (its answers can be long): the newest turns first."""
    kept, total = [], 0
    for turn in reversed(turns[-settings.history_max_turns:]):
        content = turn["content"][: settings.history_max_turn_chars]
        if total + len(content) > settings.history_max_chars:
            break
        kept.append({**turn, "content": content})
        total += len(content)
    return kept[::-1]
