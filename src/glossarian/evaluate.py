"""Retrieval evaluation: hit@1, hit@3, MRR per language and category, and abstention quality."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from glossarian.errors import GlossarianError


@dataclass
class Case:
    question: str
    expected: list[str]
    lang: str
    category: str


@dataclass
class Outcome:
    case: Case
    got: list[str]
    abstained: bool

    @property
    def in_scope(self) -> bool:
        return bool(self.case.expected)

    def hit(self, k: int) -> bool:
        """Single-term: the entry is within the top k. Multi-term: for k=1 the first hit is one of the expected
        entries (two entries cannot both be first); for k>1 every expected entry is within the top
        max(k, number expected)."""
        expected = self.case.expected
        if len(expected) == 1:
            return expected[0] in self.got[:k]
        if k == 1:
            return bool(self.got) and self.got[0] in expected
        return set(expected) <= set(self.got[: max(k, len(expected))])

    def reciprocal_rank(self) -> float:
        for rank, got in enumerate(self.got, 1):
            if got in self.case.expected:
                return 1.0 / rank
        return 0.0


@dataclass
class Report:
    outcomes: list[Outcome]
    mode: str
    summary: dict = field(default_factory=dict)

    def failures(self) -> list[Outcome]:
        """In-scope questions that missed hit@1, and out-of-scope questions that were answered."""
        return [o for o in self.outcomes if (not o.hit(1) if o.in_scope else not o.abstained)]


def load_cases(path: Path) -> list[Case]:
    cases = []
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise GlossarianError(f"Cannot read evaluation set {path}: {exc}", "Pass --set FILE with a .jsonl file.")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            cases.append(Case(d["question"], list(d["expected"]), d.get("lang", "?"), d.get("category", "?")))
        except (ValueError, KeyError, TypeError) as exc:
            raise GlossarianError(f"{path}:{n}: not a valid case ({exc}).",
                                  'Each line must be {"question": ..., "expected": [ids], "lang": ..., "category": ...}.')
    return cases


def _metrics(outcomes: list[Outcome]) -> dict:
    scoped = [o for o in outcomes if o.in_scope]
    if not scoped:
        return {"n": 0}
    return {
        "n": len(scoped),
        "hit@1": round(sum(o.hit(1) for o in scoped) / len(scoped), 4),
        "hit@3": round(sum(o.hit(3) for o in scoped) / len(scoped), 4),
        "mrr": round(sum(o.reciprocal_rank() for o in scoped) / len(scoped), 4),
    }


def evaluate(retriever, cases: list[Case], mode: str = "hybrid") -> Report:
    outcomes = []
    for c in cases:
        r = retriever.search(c.question, k=5, mode=mode)
        outcomes.append(Outcome(c, [h.entry.id for h in r.hits], r.abstained))
    return summarize(outcomes, mode)


def summarize(outcomes: list[Outcome], mode: str) -> Report:
    report = Report(outcomes, mode)
    s = {"mode": mode, "overall": _metrics(outcomes)}
    for key in ("lang", "category"):
        groups = defaultdict(list)
        for o in outcomes:
            groups[getattr(o.case, key)].append(o)
        s["by_" + key] = {g: _metrics(v) for g, v in sorted(groups.items()) if any(x.in_scope for x in v)}
    oos = [o for o in outcomes if not o.in_scope]
    scoped = [o for o in outcomes if o.in_scope]
    abstained = [o for o in outcomes if o.abstained]
    s["abstention"] = {
        "oos": len(oos),
        "oos_abstained": round(sum(o.abstained for o in oos) / len(oos), 4) if oos else None,
        "in_scope_wrongly_abstained": round(sum(o.abstained for o in scoped) / len(scoped), 4) if scoped else None,
        "precision": round(sum(not o.in_scope for o in abstained) / len(abstained), 4) if abstained else None,
        "recall": round(sum(o.abstained for o in oos) / len(oos), 4) if oos else None,
    }
    report.summary = s
    return report


def format_report(report: Report) -> str:
    s = report.summary
    lines = [f"mode: {s['mode']}"]

    def row(name: str, m: dict) -> str:
        return f"  {name:<14} n={m['n']:<4} hit@1={m['hit@1']:.3f}  hit@3={m['hit@3']:.3f}  MRR={m['mrr']:.3f}"

    lines.append(row("overall", s["overall"]))
    for key in ("by_lang", "by_category"):
        lines.append(key.replace("_", " ") + ":")
        lines += [row(g, m) for g, m in s[key].items()]
    a = s["abstention"]
    lines.append(f"abstention: out-of-scope abstained {a['oos_abstained']} (n={a['oos']}), in-scope wrongly "
                 f"abstained {a['in_scope_wrongly_abstained']}, precision {a['precision']}, recall {a['recall']}")
    fails = report.failures()
    lines.append(f"failures ({len(fails)}):")
    for o in fails:
        got = "ABSTAINED" if o.abstained else ", ".join(o.got[:3])
        lines.append(f"  [{o.case.lang}/{o.case.category}] {o.case.question!r}: expected "
                     f"{', '.join(o.case.expected) or 'abstain'}; got {got}")
    return "\n".join(lines)
