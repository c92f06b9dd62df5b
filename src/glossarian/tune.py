"""`glossarian tune`: choose retrieval parameters by k-fold cross-validation on the dev set, and print the table.

Every question is embedded and scored once (Retriever.features); each parameter set is then judged by the same
`Retriever.decide` the product runs. The parameters are unit-free (manifest.Calibration), so what is chosen here
carries over to other embedding models. Columns of the table:
- dev: the parameters chosen on all of dev, measured on dev (in-sample, optimistic);
- cv: each question judged by parameters chosen on the other folds (what to expect on unseen questions);
- holdout: only with --holdout, the dev-chosen parameters on the blind set, reported as they fall.
Rows: per kind (the `category` of each case), for dense-only, BM25-only and the shipped hybrid.
Objective (higher is better): mean(hit@1, hit@3) + out-of-scope abstained - 2 x in-scope wrongly abstained.
"""
from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from pathlib import Path

from glossarian.calibrate import PARAMS_FILE, load_params
from glossarian.evaluate import Case, Outcome

GRID = {
    "floor": [-1.0, -0.5, 0.0, 0.5],
    "margin": [-0.25, 0.0, 0.25, 0.5, 0.75],
    "named_floor": [-2.0, -1.0, 0.0],
    "named_margin": [-1.5, -1.0],
    "lexical_weight": [0.5, 1.0],
    "named_bonus": [0.0, 0.25],
    "facet_penalty": [0.0, 1.0, 2.0],
    "asks_penalty": [0.0, 1.0, 2.0],
}
FIXED = {"cutoff": 1.8}  # how many hits are listed, not which one is first: not tuned (it would only grow)
DENSE_GRID = {k: (v if k in ("floor", "margin", "facet_penalty", "asks_penalty") else [0.0]) for k, v in GRID.items()}
FOLDS = 5


def objective(outcomes: list[Outcome]) -> float:
    scoped = [o for o in outcomes if o.in_scope]
    oos = [o for o in outcomes if not o.in_scope]
    h = (sum(o.hit(1) for o in scoped) + sum(o.hit(3) for o in scoped)) / (2 * len(scoped)) if scoped else 0.0
    wrong = sum(o.abstained for o in scoped) / len(scoped) if scoped else 0.0
    refused = sum(o.abstained for o in oos) / len(oos) if oos else 0.0
    return h + refused - 2 * wrong


def folds_of(cases: list[Case], k: int = FOLDS) -> list[int]:
    """Deterministic folds, stratified by kind: the n-th case of each kind goes to fold n mod k."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for c in cases:
        out.append(seen[c.category] % k)
        seen[c.category] += 1
    return out


class _Memo:
    """An embedder that embeds each question once, however many modes ask for it (the tuner's only cost)."""

    def __init__(self, embedder):
        self.inner, self.seen = embedder, {}

    def embed_queries(self, texts: list[str]):
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if missing:
            self.seen.update(zip(missing, self.inner.embed_queries(missing)))
        return np.stack([self.seen[t] for t in texts])

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _outcomes(retriever, feats, cases, params: dict, mode: str) -> list[Outcome]:
    cal = retriever.calibration.with_params({**params, **FIXED})
    out = []
    for f, c in zip(feats, cases):
        r = retriever.decide(f, 5, mode, cal)
        out.append(Outcome(c, [h.entry.id for h in r.hits], r.abstained))
    return out


def sweep(retriever, feats, cases, grid: dict, mode: str) -> list[tuple[dict, list[Outcome]]]:
    keys = list(grid)
    return [(dict(zip(keys, values)), _outcomes(retriever, feats, cases, dict(zip(keys, values)), mode))
            for values in itertools.product(*(grid[k] for k in keys))]


def cross_validate(results, cases, folds: list[int], k: int = FOLDS) -> tuple[list[Outcome], list[dict]]:
    """Out-of-fold outcomes: for each fold, the parameters best on the other folds judge its questions."""
    chosen, merged = [], [None] * len(cases)
    for fold in range(k):
        train = [n for n, f in enumerate(folds) if f != fold]
        best = max(results, key=lambda r: objective([r[1][n] for n in train]))
        chosen.append(best[0])
        for n, f in enumerate(folds):
            if f == fold:
                merged[n] = best[1][n]
    return merged, chosen


def table(columns: dict[str, list[Outcome]]) -> list[str]:
    """Rows per kind; for each column n, hit@1, hit@3 and the abstained share (wrong for in-scope kinds)."""
    kinds = sorted({o.case.category for outs in columns.values() for o in outs})
    head = f"  {'kind':<17}" + "".join(f"  | {name:^26}" for name in columns)
    sub = f"  {'':<17}" + "".join("  |    n  hit@1  hit@3  abst." for _ in columns)
    lines = [head, sub]
    for kind in [*kinds, "ALL in-scope", "ALL out-of-scope"]:
        row = ""
        for outs in columns.values():
            if kind == "ALL in-scope":
                sel = [o for o in outs if o.in_scope]
            elif kind == "ALL out-of-scope":
                sel = [o for o in outs if not o.in_scope]
            else:
                sel = [o for o in outs if o.case.category == kind]
            if not sel:
                row += f"  | {'':26}"
                continue
            scoped = [o for o in sel if o.in_scope]
            h1 = f"{sum(o.hit(1) for o in scoped) / len(scoped):.3f}" if scoped else "  -  "
            h3 = f"{sum(o.hit(3) for o in scoped) / len(scoped):.3f}" if scoped else "  -  "
            ab = sum(o.abstained for o in sel) / len(sel)
            row += f"  | {len(sel):>4}  {h1}  {h3}  {ab:.3f}"
        lines.append(f"  {kind:<17}{row}")
    return lines


def run(retriever, dev: list[Case], holdout: list[Case] | None = None, write: bool = False,
        sweep_file: Path | None = None, say=print) -> dict:
    started = time.perf_counter()
    real, retriever.embedder = retriever.embedder, _Memo(retriever.embedder)
    try:
        return _run(retriever, dev, holdout, write, sweep_file, say, started)
    finally:
        retriever.embedder = real


def _run(retriever, dev, holdout, write, sweep_file, say, started) -> dict:
    from glossarian.lang import normalize, to_simplified

    texts = [to_simplified(normalize(c.question)) for c in dev + (holdout or [])]
    retriever.embedder.embed_queries(texts + [f for f in map(retriever.matcher.corrected, texts) if f])  # batched
    folds = folds_of(dev)
    report: dict = {"dev_cases": len(dev), "folds": FOLDS, "grid": GRID, "fixed": FIXED,
                    "calibration": retriever.calibration.stats, "modes": {}}
    chosen_hybrid = None
    for mode, grid in (("dense", DENSE_GRID), ("bm25", None), ("hybrid", GRID)):
        feats = [retriever.features(c.question, mode) for c in dev]
        hfeats = [retriever.features(c.question, mode) for c in holdout] if holdout else None
        if grid is None:  # BM25 alone has no parameters: dev and cross-validated are the same figure
            dev_out = _outcomes(retriever, feats, dev, load_params(), mode)
            columns = {"dev": dev_out, "cv": dev_out}
            chosen = {}
            if holdout:
                columns["holdout"] = _outcomes(retriever, hfeats, holdout, load_params(), mode)
        else:
            results = sweep(retriever, feats, dev, grid, mode)
            best = max(results, key=lambda r: objective(r[1]))
            cv, per_fold = cross_validate(results, dev, folds)
            chosen = best[0]
            columns = {"dev": best[1], "cv": cv}
            if holdout:
                columns["holdout"] = _outcomes(retriever, hfeats, holdout, chosen, mode)
            report["modes"][mode] = {"chosen": chosen, "per_fold": per_fold,
                                     "sweep": [{"params": p, "objective": round(objective(o), 4)}
                                               for p, o in results]}
            if mode == "hybrid":
                chosen_hybrid = chosen
        report["modes"].setdefault(mode, {})["objective"] = {k: round(objective(v), 4) for k, v in columns.items()}
        say(f"\n{mode}" + (f"  (chosen on all dev: {chosen})" if chosen else ""))
        for line in table(columns):
            say(line)
    say(f"\n({time.perf_counter() - started:.0f}s; objective = mean(hit@1, hit@3) + out-of-scope abstained "
        f"- 2 x in-scope wrongly abstained; abst. = share abstained)")
    if sweep_file:
        Path(sweep_file).parent.mkdir(parents=True, exist_ok=True)
        Path(sweep_file).write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
        say(f"sweep recorded in {sweep_file}")
    if write and chosen_hybrid:
        PARAMS_FILE.write_text(json.dumps({
            "source": f"glossarian tune: {FOLDS}-fold cross-validation on the dev set ({len(dev)} questions), "
                      f"chosen on all of dev; sweep in {sweep_file or 'not recorded'}",
            "params": {**chosen_hybrid, **FIXED}}, indent=1) + "\n", "utf-8")
        say(f"parameters written to {PARAMS_FILE} (rebuild the index to apply them)")
    return report
