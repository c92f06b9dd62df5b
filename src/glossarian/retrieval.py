"""Hybrid retrieval: entries scored by their best view (dense) plus BM25 and named-term evidence; calibrated abstention.

A question is turned into Features once (normalised to Simplified Chinese, typos in names corrected, embedded,
scored against every entry's views, BM25, names it mentions), then `decide` ranks and judges scope with the
calibrated thresholds of the index (manifest.Calibration): score = best-view cosine (facet and asks views
counted lower by calibrated offsets) + lexical_weight x BM25 (as a fraction of the best BM25 score) + named_bonus when the question names it.
Scope: the glossary answers when its best unnamed entry clears the floor and beats the best out-of-scope
background passage (data/background.txt) by `margin`; an entry the question names needs only `named_floor` and
`named_margin` (a bare abbreviation like "What is BN?" embeds far from any definition),
because "HEAD in git" names `head` yet the background must still be able to win. Questions that ask for a name
("what is it called") treat the terms they mention as context: no bonus and no leniency for them.
A question about a term the glossary lacks abstains with `Retrieval.missing` set (missing.py decides which term).
A question that uses a glossary word in another field's sense ("瓶颈路段") loses the named leniency: its rest, names
cut out, must be in scope on its own (elsewhere.py).
The tuner (glossarian.tune) reuses Features with other thresholds, so what it measures is exactly this code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from glossarian import intent as intents
from glossarian.corpus import Entry
from glossarian.elsewhere import elsewhere_rest
from glossarian.index import BACKGROUND_FILE, IndexData
from glossarian.lang import mainland_form, normalize, to_simplified
from glossarian.lexical import content_words
from glossarian.manifest import Calibration
from glossarian.missing import mentioned_term, missing_term
from glossarian.names import NameMatcher, ordinary_words

# Candidates taken from each ranking (dense, BM25) before fusion. The bonuses are a fraction of the cosine gap
# between in-scope and out-of-scope questions, so an entry ranked below 30 in both cannot reach the top.
CANDIDATES = 30
NEAREST = 3  # suggestions shown when abstaining
# "What is this called?" questions describe a term without knowing it, so the terms they do name are context.
# Only phrasings that ask for a name, in both languages; each alternative is tested on several phrasings
# (tests/test_retrieval.py::test_name_seeking_*).
NAME_SEEKING = re.compile(
    r"叫什么|叫啥|怎么称呼|称为什么|称作什么|名字|术语|统称|叫做什么|专业说法|学名"
    r"|what('?s| is| do you| do people| does one| would you| should i)? (it |that |this |these |those )?call"
    r"|what (is|'s|are) (the |its )?(name|term)|name for|term for|is there a (name|term)|called\??$",
    re.I,
)
MODES = ("hybrid", "dense", "bm25")
# Questions asking for one facet of a term (why, how, typical values, when to use, an example, the limit case).
FACET_INTENTS = ("why", "how", "values", "when", "example", "limit")
# Distinct words besides the glossary names (lexical.content_words) within which a question that names one entry by
# its abbreviation, or asks one of its facets, is about that entry (Retriever.plainly_about). A longer
# question that names a model while describing something else ("how does GPT keep generation cheap by reusing the keys
# and values it computed") asks about that else. Chosen on the three dev sets (tests/data/eval_dev*.jsonl): 5 is best;
# 4 loses one dev question, 6 loses three context questions. A narrow optimum: see README.
FEW_OTHER_WORDS = 5


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float  # cosine similarity of question and entry (its best view)
    lexical: float  # BM25 score as a fraction of the question's best BM25 score
    named: bool  # the question names this entry (exactly, or with a typo that was corrected)
    view: str = "definition"  # the kind of view that matched best ("definition", a facet key, "asks")

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
    named_in_question: list[str] = field(default_factory=list)  # ids the question names, in order of appearance
    missing: str | None = None  # the term the question is about that the glossary lacks (then it abstained)


@dataclass
class Features:
    """Everything the decision uses about one question; independent of the thresholds."""

    question: str
    text: str  # what was embedded: normalised, Simplified, names' typos corrected
    candidates: np.ndarray  # entry positions
    cosine: np.ndarray  # (view groups, candidates): best cosine per index.VIEW_GROUPS, -inf where none
    lexical: np.ndarray  # BM25 of each candidate / best BM25 of the question (0..1)
    named: list[int]  # entry positions the question names, in order of appearance
    seeking: bool  # the question asks for a name
    background: float  # best cosine against the background passages
    qvec: np.ndarray
    plain: int | None = None  # the one entry the question is plainly about (see Retriever.plainly_about)
    facet: int | None = None  # the one entry a facet question names (see Retriever.plainly_about)
    missing: str | None = None  # the subject of a definition question, or a quoted term, the glossary lacks
    mentioned: str | None = None  # a name the question mentions that the corpus never uses (missing.mentioned_term)
    # When the question, its glossary names cut out, reads like another field's (elsewhere.py): that rest's best
    # entry cosine and best background cosine; it must then be in scope on its own.
    rest: tuple[float, float] | None = None
    plain_leads: bool = True  # `plain` is ranked first (not when a long question names it in passing)
    # When a question names one entry and nothing above ranks it first: the question with that name cut out, and (once
    # Retriever.decide needs it, because the scores rank another entry first) that rest's best entry cosine and best
    # background cosine. A rest that is no glossary question on its own ("面试被问到卷积，我该怎么讲清楚它的原理",
    # "I keep seeing Softmax in papers, what does it do?") leaves the named entry as what is asked about.
    named_rest_text: str | None = None
    named_rest: tuple[float, float] | None = None


def _in_scope(alone: tuple[float, float], cal: Calibration) -> bool:
    """A part of a question, (best entry cosine, best background cosine), is a glossary question on its own: it
    clears the floor and beats the background by the margin, as a question naming nothing must."""
    return alone[0] >= cal.floor and alone[0] - alone[1] >= cal.margin


class Retriever:
    def __init__(self, index: IndexData, embedder, top_k: int = 5, calibration: Calibration | None = None):
        self.index = index
        self.embedder = embedder
        self.top_k = top_k
        self.calibration = calibration or index.manifest.calibration
        bg_text = BACKGROUND_FILE.read_text("utf-8") if BACKGROUND_FILE.is_file() else ""
        self.matcher = NameMatcher(index.entries, known_words=set(index.lexical.vocabulary()),
                                   ordinary=ordinary_words(bg_text))

    # -- features ------------------------------------------------------------------------------------
    def features(self, question: str, mode: str = "hybrid", check_missing: bool = True) -> Features:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        q = to_simplified(normalize(question))
        fixed = self.matcher.corrected(q) if mode == "hybrid" else None
        text = fixed or q
        # A misspelt name ("droput", "学习律") would blur the embedding: embed the corrected question, but judge
        # scope by the original too ("long polling" must not become pooling).
        vecs = self.embedder.embed_queries([text, q] if fixed else [text])
        qvec = vecs[0]
        bg = max(self.index.background_score(v) for v in vecs)
        n = len(self.index.entries)
        if self.index.exact:
            groups = self.index.entry_cosines(qvec)
            best = groups.max(axis=0)
            k = min(CANDIDATES, n)
            dense_ids = np.argpartition(-best, k - 1)[:k] if k < n else np.arange(n)
        else:
            dense_ids = self.index.dense_search(qvec, CANDIDATES)[1]
        lex = self.index.lexical.scores(text) if mode != "dense" else np.zeros(n, dtype=np.float32)
        lex_ids = [int(i) for i in np.argsort(-lex)[:CANDIDATES] if lex[i] > 0]
        named = self.matcher.find(text) if mode == "hybrid" else []
        if mode == "hybrid" and (mainland := mainland_form(text)) != text:
            # Taiwan words name entries too (頸部網路 is 颈部网络); only the names are looked up in that form.
            named += [i for i in self.matcher.find(mainland) if i not in named]
        cands = np.array(list(dict.fromkeys([*map(int, dense_ids), *lex_ids, *named])), dtype=np.int64)
        cos = groups[:, cands] if self.index.exact else self.index.cosines(cands, qvec)
        top_lex = float(lex.max()) if n else 0.0
        lexn = lex[cands] / top_lex if top_lex > 0 else np.zeros(len(cands), dtype=np.float32)
        seeking = bool(NAME_SEEKING.search(text))
        plain, plain_leads, facet = self.plainly_about(text, named) if mode == "hybrid" else (None, True, None)
        missing = mentioned = rest = None
        if mode == "hybrid" and check_missing and intents.detect(question) not in ("compute", "name"):
            # Names within a typo of the likeliest entries' are typed wrongly, not missing ("gradient desent").
            likeliest = [int(cands[j]) for j in np.argsort(-cos.max(axis=0))[:NEAREST]]
            near = [self.index.entries[i] for i in dict.fromkeys([*named, *likeliest])]
            missing = missing_term(question, self.matcher, self.index.entries, near)
            mentioned = None if missing else mentioned_term(question, self.matcher)
            # A question plainly about a term is not about another field ("What is dropout? <pasted link>").
            if named and not missing and plain is None and (other := elsewhere_rest(text, self.matcher,
                                                                                      self.matcher.known_words)):
                rest = self._alone(other)
        named_rest = None
        if (mode == "hybrid" and len(named) == 1 and not seeking and not missing and facet is None
                and not (plain is not None and plain_leads)):
            named_rest = " ".join(self.matcher.without_names(text).split())
        return Features(question, text, cands, cos, np.asarray(lexn, dtype=np.float32), named, seeking, float(bg),
                        qvec, plain, facet, missing, mentioned, rest, plain_leads, named_rest,
                        rest if named_rest is not None else None)

    def _alone(self, text: str) -> tuple[float, float]:
        """(best entry cosine, best background cosine) of a part of a question, judged as a question of its own."""
        vec = self.embedder.embed_queries([text])[0]
        return float(self.index.dense_search(vec, 1)[0][0]), self.index.background_score(vec)

    def plainly_about(self, question: str, named: list[int]) -> tuple[int | None, bool, int | None]:
        """(plain, whether it leads, facet) for a question and the entries it names.

        plain: the entry a question is plainly about, whatever the embedding says: the subject of a definition
        question is exactly its name ("What is BN?", "what is GAP in a CNN" — context after "in" aside), or the
        question names only one entry and names it by one of its abbreviations as the glossary spells it ("训练时 BN
        的均值怎么算"; not "HEAD" in git). A bare abbreviation embeds far from any definition, so the cosine floors
        alone would refuse it: such an entry is answered even below the floors. It is ranked first unless a long
        question names it in passing (FEW_OTHER_WORDS).
        facet: the one entry named in a question that asks for a facet ("warmup 步数一般设多少", "Why do we need weight
        decay?"), ranked first when the question is in scope; unlike plain it passes no floor, because an ordinary
        word can name an entry too ("a neck strap", "发酵温度"). Only when the question says little besides that name:
        a long question that names a model while describing something else ("why does the Faster R-CNN box branch
        use a loss less sensitive to outlier boxes") asks about that else."""
        from glossarian.missing import subjects

        if not named:
            return None, True, None
        for phrase, _ in subjects(question, self.matcher.exactly):
            exact = [i for i in self.matcher.exactly(phrase) if i in named]
            if len(exact) == 1:
                return exact[0], True, self._facet(question, named)
        brief = len(content_words(self.matcher.without_names(question))) <= FEW_OTHER_WORDS
        one = named[0] if len(named) == 1 else None
        plain = one if one is not None and self.matcher.abbreviated(question) == named else None
        return plain, brief, (self._facet(question, named) if brief else None)

    @staticmethod
    def _facet(question: str, named: list[int]) -> int | None:
        return named[0] if len(named) == 1 and intents.detect(question) in FACET_INTENTS else None

    # -- decision ------------------------------------------------------------------------------------
    def decide(self, f: Features, k: int | None = None, mode: str = "hybrid",
               calibration: Calibration | None = None) -> Retrieval:
        k = k or self.top_k
        cal = calibration or self.calibration
        entries = self.index.entries
        named_set = set(f.named)
        order = [entries[i].id for i in f.named]
        # An entry's cosine is its best view's, facet and asks views counted lower by their calibrated offsets.
        offsets = np.array([0.0, cal.facet_penalty, cal.asks_penalty], dtype=np.float32)[:, None]
        cos = dict(zip(f.candidates.tolist(), (f.cosine - offsets).max(axis=0).tolist()))
        lex = dict(zip(f.candidates.tolist(), f.lexical.tolist()))
        if mode == "bm25":  # the bare BM25 ranking, for comparison: no calibration exists for BM25 scores
            ranked = [i for i in sorted(cos, key=lambda i: -lex[i]) if lex[i] > 0][:k]
            return Retrieval(f.question, [self._hit(i, cos, lex, named_set, f) for i in ranked],
                             abstained=not ranked, background=f.background, named_in_question=order)
        # Terms named in a name-seeking question are context: they get neither the bonus nor the leniency.
        trusted = set() if f.seeking else named_set
        score = {i: cos[i] + cal.lexical_weight * lex[i] + (cal.named_bonus if i in trusted else 0.0) for i in cos}
        best_unnamed = max((c for i, c in cos.items() if i not in trusted), default=-1.0)
        unnamed_ok = best_unnamed >= cal.floor and best_unnamed - f.background >= cal.margin
        named_ok = [i for i in f.named if i in trusted and cos[i] >= cal.named_floor
                    and cos[i] - f.background >= cal.named_margin]
        plain = f.plain if f.plain in trusted else None
        if plain is not None:  # answered even below the floors (and, when it leads, ranked first below)
            named_ok = [plain, *(i for i in named_ok if i != plain)]
        lead = plain if plain is not None and f.plain_leads else None
        focus = lead if lead is not None else (f.facet if f.facet in trusted and (named_ok or unnamed_ok) else None)
        if focus is None and f.named_rest_text is not None and (named_ok or unnamed_ok) \
                and max(score, key=score.get) != f.named[0]:
            if f.named_rest is None:  # embedded only when it decides something (about 1 dev question in 15)
                f.named_rest = self._alone(f.named_rest_text)
            if not _in_scope(f.named_rest, cal):  # the question is about the one entry it names
                focus = f.named[0]
        if focus is not None:
            score[focus] = max(score.values()) + cal.named_bonus
        # The glossary lacks what the question is about: the term it asks to define ("VQ-VAE" is not VAE, however
        # plain), or, in a question that looks in scope, a name the corpus never uses ("Mamba 的选择性扫描"; off-topic
        # questions that mention one, "CSS flexbox", are plain abstentions, not terms to add).
        missing = f.missing or (f.mentioned if named_ok or unnamed_ok else None)
        if f.rest is not None and not _in_scope(f.rest, cal):
            named_ok, unnamed_ok = [], False  # a glossary word in another field's sense ("瓶颈路段")
        if missing or (not named_ok and not unnamed_ok):
            nearest = sorted(cos, key=lambda i: -cos[i])[:NEAREST]
            return Retrieval(f.question, [], abstained=True, background=f.background, named_in_question=order,
                             nearest=[self._hit(i, cos, lex, named_set, f) for i in nearest], missing=missing)
        pool = sorted(cos if unnamed_ok else named_ok, key=lambda i: -score[i])
        top = score[pool[0]]
        hits = [self._hit(i, cos, lex, named_set, f) for i in pool[:k] if score[i] >= top - cal.cutoff]
        return Retrieval(f.question, hits, abstained=False, background=f.background, named_in_question=order)

    def search(self, question: str, k: int | None = None, mode: str = "hybrid", check_missing: bool = True) -> Retrieval:
        """mode: 'hybrid' (shipped), or 'dense' (cosines and calibrated scope only) / 'bm25' (bare BM25
        ranking, no abstention) for evaluation. check_missing: abstain when the question is about a term the
        glossary lacks (off for a follow-up, which carries its subject from the conversation)."""
        return self.decide(self.features(question, mode, check_missing), k, mode)

    def _hit(self, i: int, cos: dict, lex: dict, named: set, f: Features) -> Hit:
        return Hit(self.index.entries[i], cos[i], lex[i], i in named, self.index.best_view(i, f.qvec))
