"""Hybrid retrieval: exact term/alias matches first, then dense (FAISS) and BM25 fused by reciprocal rank.

Abstention: when no term or alias is named and the best dense similarity is below the calibrated
threshold, retrieval returns no hits (the nearest entries are still offered as suggestions).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from glossarian.corpus import Entry
from glossarian.index import IndexData
from glossarian.lang import normalize

RRF_K = 60
CANDIDATES = 30
# Calibrated on tests/data/eval_dev.jsonl with multilingual-e5-small (see README "Retrieval quality").
DENSE_ACCEPT = 0.86  # accept on dense evidence alone at or above this cosine
DENSE_WITH_LEXICAL = 0.82  # accept when BM25 also found the same entry
RELATIVE_CUTOFF = 0.06  # keep non-exact hits within this cosine of the best one
# All-caps abbreviations that are also ordinary lowercase English words only match in capitals.
CASE_SENSITIVE_WORDS = {"gap", "map", "cot", "moe", "bert", "gan"}


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float  # dense cosine similarity of question and entry, 0..1
    dense: float
    lexical: float
    exact: bool  # the question names this entry's term or an alias

    def to_source(self) -> dict:
        return {"id": self.entry.id, "term_en": self.entry.term_en, "term_zh": self.entry.term_zh,
                "score": round(float(self.score), 4)}


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]
    abstained: bool
    nearest: list[Hit] = field(default_factory=list)  # suggestions when abstaining


def _name_pattern(name: str) -> re.Pattern | None:
    name = normalize(name)
    if not name:
        return None
    escaped = re.escape(name).replace(r"\ ", r"[\s\-_]*").replace(r"\-", r"[\s\-_]*")
    ascii_edge = name.isascii()
    left = r"(?<![A-Za-z0-9])" if ascii_edge or name[0].isascii() else ""
    right = r"(?![A-Za-z0-9])" if ascii_edge or name[-1].isascii() else ""
    flags = 0 if (name.isupper() and name.lower() in CASE_SENSITIVE_WORDS) else re.IGNORECASE
    return re.compile(left + escaped + right, flags)


class NameMatcher:
    """Finds glossary terms and aliases written in a question; longest non-overlapping spans win."""

    def __init__(self, entries: list[Entry]):
        self.patterns: list[tuple[int, int, re.Pattern]] = []
        for i, e in enumerate(entries):
            for name in dict.fromkeys(e.names):
                pat = _name_pattern(name)
                if pat is not None and len(normalize(name)) >= 2:
                    self.patterns.append((len(normalize(name)), i, pat))
        self.patterns.sort(key=lambda t: -t[0])

    def find(self, question: str) -> list[int]:
        """Entry positions named in the question, in order of appearance."""
        taken: list[tuple[int, int]] = []
        found: dict[int, int] = {}
        for _, i, pat in self.patterns:
            for m in pat.finditer(question):
                if any(m.start() < b and a < m.end() for a, b in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.setdefault(i, m.start())
        return sorted(found, key=found.get)


class Retriever:
    def __init__(self, index: IndexData, embedder, top_k: int = 5):
        self.index = index
        self.embedder = embedder
        self.top_k = top_k
        self.matcher = NameMatcher(index.entries)

    def search(self, question: str, k: int | None = None, mode: str = "hybrid") -> Retrieval:
        """mode: 'hybrid' (shipped), 'dense' or 'bm25' (for evaluation)."""
        k = k or self.top_k
        q = normalize(question)
        n = len(self.index.entries)
        qvec = self.embedder.embed_queries([q])[0]
        dense_scores, dense_ids = self.index.dense_search(qvec, min(CANDIDATES, n))
        dense_of = dict(zip(dense_ids.tolist(), dense_scores.tolist()))
        lex = self.index.lexical.scores(q) if mode != "dense" else np.zeros(n, dtype=np.float32)
        lex_top = [int(i) for i in np.argsort(-lex)[:CANDIDATES] if lex[i] > 0]

        def cosine(i: int) -> float:
            return dense_of[i] if i in dense_of else float(self.index.vectors[i] @ qvec)

        fused: dict[int, float] = {}
        if mode in ("hybrid", "dense"):
            for rank, i in enumerate(dense_ids.tolist()):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        if mode in ("hybrid", "bm25"):
            for rank, i in enumerate(lex_top):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        ranked = sorted(fused, key=lambda i: -fused[i])
        exact = self.matcher.find(q) if mode == "hybrid" else []
        # Named entries first, ordered among themselves by the fused ranking.
        position = {i: r for r, i in enumerate(ranked)}
        exact_sorted = sorted(exact, key=lambda i: position.get(i, len(ranked)))
        order = exact_sorted + [i for i in ranked if i not in set(exact)]

        def hit(i: int) -> Hit:
            return Hit(self.index.entries[i], cosine(i), cosine(i), float(lex[i]), i in exact)

        if mode == "bm25":
            hits = [hit(i) for i in order[:k]]
            return Retrieval(question, hits, abstained=not hits, nearest=[])
        candidates = [hit(i) for i in order[: max(k, 10)]]
        best = max((h.dense for h in candidates), default=0.0)
        lexical_agrees = bool(lex_top) and ranked and ranked[0] in lex_top[:3]
        accept = bool(exact) or best >= DENSE_ACCEPT or (best >= DENSE_WITH_LEXICAL and lexical_agrees)
        if not accept:
            return Retrieval(question, [], abstained=True, nearest=candidates[:3])
        hits = [h for h in candidates if h.exact or h.dense >= best - RELATIVE_CUTOFF][:k]
        return Retrieval(question, hits, abstained=False)
