"""Per-model calibration at index build: where in-scope and out-of-scope questions score with this model.

In-scope probes are questions the corpus itself supplies: every `asks` line, and each definition's first sentence
with the entry's names removed (a description that does not name its subject, so unconverted entries give probes
too). Each is scored against its own entry without the view it was taken from. Out-of-scope probes are the
background passages, embedded as questions, scored against the glossary and against the other passages. The
out-of-scope location and spread, with the unit-free parameters in data/retrieval_params.json, give the
thresholds (manifest.Calibration); the in-scope medians are recorded as a check that the model separates the two.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from glossarian.corpus import LANGS, Entry
from glossarian.manifest import Calibration
from glossarian.views import View

log = logging.getLogger("glossarian")
PARAMS_FILE = Path(__file__).parent / "data" / "retrieval_params.json"
# In-scope probes are embedded at every build; 300 short questions take ~4 s with e5-small on one thread and
# put the median's standard error well under the gaps it separates.
MAX_IN_PROBES = 300
SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s")


def load_params(path: Path = PARAMS_FILE) -> dict:
    data = json.loads(Path(path).read_text("utf-8"))
    return {k: float(v) for k, v in data["params"].items()}


def _description(entry: Entry, lang: str) -> str:
    """The definition's first sentence without any of the entry's names: a question-like description."""
    text = entry.definition(lang).strip()
    first = SENTENCE_END.split(text, maxsplit=1)[0] if text else ""
    for name in sorted(entry.names, key=len, reverse=True):
        if name:
            first = re.sub(re.escape(name), " ", first, flags=re.I)
    first = re.sub(r"[（(]\s*[,，、\s]*[）)]", " ", first)
    first = re.sub(r"^\W+|\s+", " ", first).strip(" ,，:：")
    return first if len(first) >= 8 else ""


def in_scope_probes(entries: list[Entry], views: list[list[View]]) -> list[tuple[int, str, int]]:
    """(entry position, probe text, index of the entry's view to leave out), evenly thinned to MAX_IN_PROBES."""
    probes = []
    for i, (e, vs) in enumerate(zip(entries, views)):
        for j, v in enumerate(vs):
            if v.kind == "asks":
                probes.append((i, v.text, j))
        for lang in LANGS:
            text = _description(e, lang)
            own = next((j for j, v in enumerate(vs) if v.kind == "definition" and v.lang == lang), -1)
            if text:
                probes.append((i, text, own))
    if len(probes) > MAX_IN_PROBES:
        step = len(probes) / MAX_IN_PROBES
        probes = [probes[int(n * step)] for n in range(MAX_IN_PROBES)]
    return probes


def calibrate(embedder, entries: list[Entry], views: list[list[View]], vectors: np.ndarray, offsets: np.ndarray,
              background: np.ndarray, background_q: np.ndarray, params: dict | None = None) -> Calibration:
    params = params or load_params()
    probes = in_scope_probes(entries, views)
    in_cos, in_margin = [], []
    if probes:
        qs = embedder.embed_queries([t for _, t, _ in probes])
        bg = (qs @ background.T).max(axis=1) if len(background) else np.zeros(len(qs))
        for (i, _, skip), q, b in zip(probes, qs, bg):
            sims = vectors[offsets[i] : offsets[i + 1]] @ q
            if 0 <= skip < len(sims) and len(sims) > 1:
                sims = np.delete(sims, skip)
            in_cos.append(float(sims.max()))
            in_margin.append(float(sims.max() - b))
    out_cos, out_margin = [], []
    if len(background_q) >= 2:
        best_entry = np.maximum.reduceat(background_q @ vectors.T, offsets[:-1], axis=1).max(axis=1)
        other = background_q @ background.T
        np.fill_diagonal(other, -np.inf)
        out_cos = best_entry.tolist()
        out_margin = (best_entry - other.max(axis=1)).tolist()
    if not in_cos:
        log.warning("Calibration: the corpus gives no in-scope probes.")
    if len(out_cos) < 8:
        log.warning("Calibration: %d background passages; out-of-scope judgement falls back to rough defaults.",
                    len(out_cos))
        out_cos = out_cos or [float(np.median(in_cos)) - 0.1 if in_cos else 0.8]
        out_margin = out_margin or [0.0]

    def iqr(xs) -> float:
        q1, q3 = np.percentile(xs, [25, 75])
        return float(q3 - q1) if len(xs) >= 8 else 0.05

    stats = {
        "out_cosine": float(np.median(out_cos)), "out_cosine_spread": iqr(out_cos),
        "out_margin": float(np.median(out_margin)), "out_margin_spread": iqr(out_margin),
        "in_cosine": float(np.median(in_cos)) if in_cos else 0.0,
        "in_margin": float(np.median(in_margin)) if in_margin else 0.0,
        "in_probes": len(in_cos), "out_probes": len(background_q),
    }
    if in_cos and stats["in_cosine"] <= stats["out_cosine"]:
        log.warning("Calibration: in-scope probes score no higher than out-of-scope ones (%.3f vs %.3f); "
                    "this model cannot tell the glossary from other subjects.", stats["in_cosine"], stats["out_cosine"])
    return Calibration.derive(stats, params)
