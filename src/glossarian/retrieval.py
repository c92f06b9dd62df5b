"""Hybrid retrieval: named terms first, then dense (FAISS) and BM25 fused by reciprocal rank; abstention.

Order of results: entries the question names (exactly or with a typo), in the order they appear in
the question, then the rest by reciprocal-rank fusion of dense and BM25 rankings.
Abstention: the question is also compared with a broad set of background passages about subjects the
glossary does not cover (`data/background.txt`). An entry is only accepted when it is closer to the
question than the background is; an entry named exactly gets a margin of doubt, because "HEAD in git"
names `head` but is about git.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from glossarian.corpus import Entry
from glossarian.index import IndexData
from glossarian.lang import normalize
from glossarian.names import NameMatcher

CANDIDATES = 30
# Weights and thresholds on multilingual-e5-small cosines, tuned on tests/data/eval_dev.jsonl and checked
# on the held-out set (README "Retrieval quality"). e5 cosines are compressed: unrelated text scores ~0.75,
# so a few hundredths matter.
LEXICAL_WEIGHT = 0.03  # BM25 score, normalised by the best one, added to the cosine
NAMED_BONUS = 0.01  # the question names the entry (exactly or with a typo)
DENSE_FLOOR = 0.80  # nothing below this cosine is ever an answer
NAMED_BG_MARGIN = 0.03  # a named entry is refused only if the background beats it by more than this
UNNAMED_BG_MARGIN = 0.0  # an unnamed entry must beat the background
RELATIVE_CUTOFF = 0.08  # hits scoring within this of the best are returned
# "What is this called?" questions describe a term without knowing it, so the terms they do name are
# context, not the subject: no bonus for them.
NAME_SEEKING = re.compile(
    r"叫什么|叫啥|怎么称呼|称为什么|什么现象|有名字|名字|术语|统称|叫做什么"
    r"|这种.{0,8}(方法|做法|操作|结构|策略|技术|问题|现象|任务|模型)"
    r"|what('?s| is| do you| do people| does one)? (it |that |this )?call|what (is|'s) (the )?(name|term)"
    r"|name for|term for|is there a (name|term)|called\??$"
    r"|哪一?(个|种)?(部分|模块|层|步|结构|组件)|在结构上叫|\bwhich (part|layer|component|module|step|block)\b"
    r"|\bwhat (part|layer|component|module) (of|in|is|does)\b",
    re.I,
)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float  # cosine similarity of question and entry (its best view)
    lexical: float
    exact: bool  # the question names this entry (exactly or with a typo)

    def to_source(self) -> dict:
        return {"id": self.entry.id, "term_en": self.entry.term_en, "term_zh": self.entry.term_zh,
                "score": round(float(self.score), 4)}


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]
    abstained: bool
    nearest: list[Hit] = field(default_factory=list)  # suggestions when abstaining
    background: float = 0.0  # best cosine against the out-of-scope background
    named: list[str] = field(default_factory=list)  # ids the question names, in order of appearance


class Retriever:
    def __init__(self, index: IndexData, embedder, top_k: int = 5):
        self.index = index
        self.embedder = embedder
        self.top_k = top_k
        self.matcher = NameMatcher(index.entries, known_words=set(index.lexical.vocabulary()))

    def search(self, question: str, k: int | None = None, mode: str = "hybrid", _typo_bg: float = 0.0) -> Retrieval:
        """mode: 'hybrid' (shipped), or 'dense' / 'bm25' alone (for evaluation)."""
        k = k or self.top_k
        q = normalize(question)
        fixed = self.matcher.corrected(q) if mode == "hybrid" and not _typo_bg else None
        if fixed:
            # Misspelt names ("droput", "学习律") would also blur the embedding: search the corrected
            # question, but judge scope by the original too ("long polling" must not become pooling).
            bg = self.index.background_score(self.embedder.embed_queries([q])[0])
            result = self.search(fixed, k, mode, _typo_bg=max(bg, 1e-9))
            result.question = question
            return result
        n = len(self.index.entries)
        qvec = self.embedder.embed_queries([q])[0]
        dense_scores, dense_ids = self.index.dense_search(qvec, min(CANDIDATES, n))
        dense_of = dict(zip(dense_ids.tolist(), dense_scores.tolist()))
        lex = self.index.lexical.scores(q) if mode != "dense" else np.zeros(n, dtype=np.float32)
        lex_top = [int(i) for i in np.argsort(-lex)[:CANDIDATES] if lex[i] > 0]

        def cosine(i: int) -> float:
            return dense_of[i] if i in dense_of else self.index.cosine(i, qvec)

        if mode == "bm25":
            ranked = lex_top
        elif mode == "dense":
            ranked = dense_ids.tolist()
        if mode != "hybrid":  # the bare rankings, with no abstention, for comparison
            return Retrieval(question, [self._hit(i, cosine(i), lex, False) for i in ranked[:k]],
                             abstained=not ranked)

        exact = self.matcher.find(q)
        bg = max(self.index.background_score(qvec), _typo_bg)
        named = [i for i in exact if cosine(i) >= DENSE_FLOOR and cosine(i) >= bg - NAMED_BG_MARGIN]
        seeking = bool(NAME_SEEKING.search(q))
        bonus = 0.0 if seeking else NAMED_BONUS
        top_lex = float(lex.max()) if len(lex) else 0.0
        pool = set(dense_ids.tolist()) | set(lex_top) | set(named)
        score = {i: cosine(i) + (LEXICAL_WEIGHT * float(lex[i]) / top_lex if top_lex > 0 else 0.0)
                 + (bonus if i in named else 0.0) for i in pool}
        ranked = sorted(pool, key=lambda i: -score[i])
        best_unnamed = max((cosine(i) for i in ranked[:10] if i not in set(exact)), default=0.0)
        unnamed_ok = best_unnamed >= DENSE_FLOOR and best_unnamed >= bg + UNNAMED_BG_MARGIN
        if not named and not unnamed_ok:
            nearest = [self._hit(i, cosine(i), lex, False) for i in sorted(pool, key=lambda i: -cosine(i))[:3]]
            return Retrieval(question, [], abstained=True, nearest=nearest, background=bg)
        candidates = ranked if unnamed_ok else [i for i in ranked if i in named]
        top = score[candidates[0]]
        hits = [self._hit(i, cosine(i), lex, i in named) for i in candidates if score[i] >= top - RELATIVE_CUTOFF]
        order = [self.index.entries[i].id for i in exact]
        return Retrieval(question, hits[:k], abstained=False, background=bg, named=order)

    def _hit(self, i: int, cos: float, lex: np.ndarray, named: bool) -> Hit:
        return Hit(self.index.entries[i], cos, float(lex[i]), named)
