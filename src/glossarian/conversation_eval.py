"""Conversation evaluation: a multi-turn set answered through the real Assistant, each turn checked for subject,
intent, tool, missing term, abstention, language, and that a follow-up adds something new.

Set format (JSONL, one conversation a line): {"id", "lang", "turns": [{"q", "subject", "intent",
optional "also" (a second entry it must cite), "tool", "missing", "abstain"}]}. `subject` null means
"no subject check" (a computation, a missing term, an off-topic question).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from glossarian.errors import GlossarianError

CHECKS = ("subject", "intent", "tool", "missing", "abstain", "language", "new")


@dataclass
class TurnOutcome:
    conversation: str
    turn: int
    question: str
    failed: list[str]
    got: dict


@dataclass
class ConversationReport:
    outcomes: list[TurnOutcome]
    checked: Counter = field(default_factory=Counter)
    passed: Counter = field(default_factory=Counter)
    conversations: int = 0
    conversations_ok: int = 0

    def summary(self) -> dict:
        turns = len(self.outcomes)
        ok = sum(not o.failed for o in self.outcomes)
        return {
            "conversations": self.conversations, "conversations_all_turns_ok": self.conversations_ok,
            "turns": turns, "turns_ok": ok, "turn_accuracy": round(ok / turns, 3) if turns else 0.0,
            "checks": {k: {"checked": self.checked[k], "passed": self.passed[k],
                           "rate": round(self.passed[k] / self.checked[k], 3) if self.checked[k] else None}
                       for k in CHECKS},
        }

    def failures(self) -> list[TurnOutcome]:
        return [o for o in self.outcomes if o.failed]


def load_conversations(path: Path) -> list[dict]:
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise GlossarianError(f"Cannot read the conversation set {path}: {exc.strerror}.",
                              "Pass --conversations tests/data/conversations_dev.jsonl") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            conv = json.loads(line)
            assert isinstance(conv["turns"], list) and all(isinstance(t["q"], str) for t in conv["turns"])
        except (ValueError, KeyError, TypeError, AssertionError):
            raise GlossarianError(f"{path}:{n} is not a conversation.",
                                  'Each line: {"id": "c01", "lang": "zh", "turns": [{"q": "...", "subject": "id", '
                                  '"intent": "define"}]}') from None
        out.append(conv)
    return out


def evaluate_conversations(assistant, conversations: list[dict]) -> ConversationReport:
    from glossarian.conversation import Turn

    report = ConversationReport(outcomes=[])
    for conv in conversations:
        history, answers, all_ok = [], [], True
        for n, case in enumerate(conv["turns"]):
            a = assistant.ask(case["q"], history)
            checks = _checks(case, a, conv.get("lang"), answers)
            failed = [k for k, ok in checks.items() if not ok]
            for k, ok in checks.items():
                report.checked[k] += 1
                report.passed[k] += ok
            all_ok &= not failed
            report.outcomes.append(TurnOutcome(conv.get("id", "?"), n + 1, case["q"], failed, {
                "sources": [h.entry.id for h in a.sources], "intent": a.intent, "missing": a.missing_term,
                "tools": [t.name for t in a.tool_calls], "abstained": a.abstained}))
            answers.append(a)
            history += [Turn("user", case["q"]), Turn.of_answer(a)]
        report.conversations += 1
        report.conversations_ok += all_ok
    return report


def _checks(case: dict, a, lang: str | None, earlier: list) -> dict[str, bool]:
    ids = [h.entry.id for h in a.sources]
    checks = {"intent": a.intent == case.get("intent", a.intent)}
    if case.get("subject"):
        checks["subject"] = bool(ids) and ids[0] == case["subject"] and (not case.get("also") or case["also"] in ids)
    checks["tool"] = ([t.name for t in a.tool_calls][:1] == [case["tool"]]) if case.get("tool") else not a.tool_calls
    checks["missing"] = a.missing_term == case.get("missing")
    checks["abstain"] = a.abstained == bool(case.get("abstain"))
    if lang:
        checks["language"] = a.language == lang
    if earlier:
        checks["new"] = all(a.answer != b.answer and a.answer.split("\n\n")[0] != b.answer.split("\n\n")[0]
                            for b in earlier)
    return checks


def format_conversation_report(report: ConversationReport) -> str:
    s = report.summary()
    lines = [f"Conversations: {s['conversations']} ({s['conversations_all_turns_ok']} with every turn right)",
             f"Turns: {s['turns']}, all checks passed on {s['turns_ok']} ({s['turn_accuracy']:.1%})", "",
             "check     passed / checked"]
    for k in CHECKS:
        c = s["checks"][k]
        if c["checked"]:
            lines.append(f"{k:<9} {c['passed']:>4} / {c['checked']:<4} {c['rate']:.1%}")
    failures = report.failures()
    if failures:
        lines += ["", "Failed turns:"]
        for o in failures:
            lines.append(f"  {o.conversation} turn {o.turn}: {o.question!r} failed {', '.join(o.failed)}; got "
                         f"sources={o.got['sources'][:3]} intent={o.got['intent']} missing={o.got['missing']} "
                         f"tools={o.got['tools']}")
    return "\n".join(lines)
